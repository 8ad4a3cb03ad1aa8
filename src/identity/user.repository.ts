import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Sql, SqlTx } from 'src/database/sql';
import type {
  IdentitySource,
  KeptWebAuthorization,
  NewSession,
  UserProfileUpdate,
  WeChatIdentity,
} from 'src/identity/identity.types';

/** What the identity statement writes besides the identity (and, on a first login, the user). */
export interface UpsertExtras {
  session?: NewSession;
  userProfile?: UserProfileUpdate;
}

export interface UpsertResult {
  userId: string;
  /** True when this call created the identity (its first login). */
  identityCreated: boolean;
  /** True when this call also created the user. */
  userCreated: boolean;
}

export interface UserRow {
  id: string;
  nickname: string | null;
  avatarUrl: string | null;
  phoneNumber: string | null;
  purePhoneNumber: string | null;
  countryCode: string | null;
}

export interface IdentityRow {
  appid: string;
  openid: string;
  source: IdentitySource;
  unionid: string | null;
  subscribed: boolean | null;
}

export interface IdentityOwner {
  userId: string;
  /** How many identities the user has besides this one. */
  otherIdentities: number;
}

/** Users and their WeChat identities. The concurrency rules of first logins are enforced here, in SQL. */
@Injectable()
export class UserRepository {
  constructor(private readonly sql: Sql) {}

  /**
   * Inserts or updates the identity (appid, openid) in ONE statement. A new identity gets `candidateUserId`; when
   * `createUser` is set, the user row is created in the same statement, only if the identity was really inserted.
   * Concurrent first logins of one openid meet at the unique constraint: one inserts, the rest update and read
   * the winner's user, so exactly one user exists. Given fields overwrite; absent (undefined/null) ones are kept.
   * With `session`, the login's session row is written by the same statement, for whichever user it resolves to,
   * and remembers the identity's appid (the account the session logged in through);
   * with `userProfile`, that user's nickname and avatar are set too (on the new row when the user is created here).
   * A statement that lost a concurrent first login sees the winner's user only through the conflict, so its profile
   * update finds no row: the winner, a moment earlier, wrote the same WeChat profile.
   */
  async upsertIdentity(
    identity: WeChatIdentity,
    candidateUserId: string,
    createUser: boolean,
    tx?: SqlTx,
    { session, userProfile }: UpsertExtras = {},
  ): Promise<UpsertResult> {
    const sql = `WITH ident AS (
         INSERT INTO wechat_identities AS wi (user_id, appid, openid, source, unionid, subscribed, profile,
           session_key_sealed, refresh_token_sealed, refresh_token_expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10)
         ON CONFLICT ON CONSTRAINT "UQ_wechat_identities_appid_openid" DO UPDATE SET
           unionid = COALESCE(EXCLUDED.unionid, wi.unionid),
           subscribed = COALESCE(EXCLUDED.subscribed, wi.subscribed),
           profile = COALESCE(EXCLUDED.profile, wi.profile),
           session_key_sealed = COALESCE(EXCLUDED.session_key_sealed, wi.session_key_sealed),
           refresh_token_sealed = COALESCE(EXCLUDED.refresh_token_sealed, wi.refresh_token_sealed),
           refresh_token_expires_at = COALESCE(EXCLUDED.refresh_token_expires_at, wi.refresh_token_expires_at),
           updated_at = now()
         RETURNING wi.user_id, (wi.xmax = 0) AS inserted
       ), new_user AS (
         INSERT INTO users (id, nickname, avatar_url)
         SELECT user_id, $14::text, $15::text FROM ident WHERE inserted AND $11::boolean RETURNING id
       ), user_profile AS (
         UPDATE users u SET nickname = COALESCE($14::text, u.nickname),
           avatar_url = COALESCE($15::text, u.avatar_url), updated_at = now()
         FROM ident
         WHERE u.id = ident.user_id AND NOT (ident.inserted AND $11::boolean)
           AND ($14::text IS NOT NULL OR $15::text IS NOT NULL)
       ), new_session AS (
         INSERT INTO sessions (user_id, token_hash, expires_at, appid)
         SELECT user_id, $12::text, now() + make_interval(secs => $13::integer), $2 FROM ident
         WHERE $12::text IS NOT NULL
       )
       SELECT ident.user_id AS "userId", ident.inserted AS inserted FROM ident`;
    const params = [
      candidateUserId,
      identity.appid,
      identity.openid,
      identity.source,
      identity.unionid ?? null,
      identity.subscribed ?? null,
      identity.profile ? JSON.stringify(identity.profile) : null,
      identity.sessionKeySealed ?? null,
      identity.refreshTokenSealed ?? null,
      identity.refreshTokenExpiresAt ?? null,
      createUser,
      session?.tokenHash ?? null,
      session?.ttlSeconds ?? 0,
      userProfile?.nickname ?? null,
      userProfile?.avatarUrl ?? null,
    ];
    const rows = tx
      ? await tx.rows<{ userId: string; inserted: boolean }>(sql, params)
      : await this.sql.prepared<{ userId: string; inserted: boolean }>('identity_upsert', sql, params);
    const { userId, inserted } = rows[0];
    return { userId, identityCreated: inserted, userCreated: inserted && createUser };
  }

  /** Runs `work` in a transaction holding an advisory lock on a unionid: one unionid merge at a time. */
  withUnionidLock<T>(unionid: string, work: (tx: SqlTx) => Promise<T>): Promise<T> {
    return this.sql.transaction(async (tx) => {
      await tx.rows(`SELECT pg_advisory_xact_lock(hashtext('unionid:' || $1))`, [unionid]);
      return work(tx);
    });
  }

  /**
   * Runs `work` in one transaction; with a unionid, holding the same advisory lock as `withUnionidLock` (a binding
   * and a first login of that unionid do not interleave).
   */
  inTransaction<T>(unionid: string | null | undefined, work: (tx: SqlTx) => Promise<T>): Promise<T> {
    return unionid ? this.withUnionidLock(unionid, work) : this.sql.transaction(work);
  }

  /**
   * The user an identity belongs to and how many other identities that user has, locking the identity's row until
   * the transaction ends; null when the identity is unknown.
   */
  async findIdentityOwner(appid: string, openid: string, tx: SqlTx): Promise<IdentityOwner | null> {
    const rows = await tx.rows<IdentityOwner>(
      `SELECT wi.user_id AS "userId",
         (SELECT count(*)::int FROM wechat_identities o WHERE o.user_id = wi.user_id AND o.id <> wi.id)
           AS "otherIdentities"
       FROM wechat_identities wi WHERE wi.appid = $1 AND wi.openid = $2 FOR UPDATE`,
      [appid, openid],
    );
    return rows[0] ?? null;
  }

  /** Gives an identity to another user and ends every session of the user it leaves (who keeps no identity). */
  async moveIdentity(appid: string, openid: string, fromUserId: string, toUserId: string, tx: SqlTx): Promise<void> {
    await tx.rows(
      `UPDATE wechat_identities SET user_id = $4, updated_at = now() WHERE appid = $1 AND openid = $2 AND user_id = $3`,
      [appid, openid, fromUserId, toUserId],
    );
    await tx.rows(`UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`, [fromUserId]);
  }

  /**
   * The user's official-account identities with a kept OAuth refresh_token, the latest authorization first (its
   * refresh_token lapses last).
   */
  async findWebAuthorizations(userId: string): Promise<KeptWebAuthorization[]> {
    return this.sql.rows<KeptWebAuthorization>(
      `SELECT appid, openid, refresh_token_sealed AS sealed, refresh_token_expires_at AS "expiresAt"
       FROM wechat_identities
       WHERE user_id = $1 AND source = 'official_account' AND refresh_token_sealed IS NOT NULL
       ORDER BY refresh_token_expires_at DESC NULLS LAST, updated_at DESC`,
      [userId],
    );
  }

  async findUserIdByUnionid(unionid: string, tx?: SqlTx): Promise<string | null> {
    const rows = await (tx ?? this.sql).rows<{ userId: string }>(
      `SELECT user_id AS "userId" FROM wechat_identities WHERE unionid = $1 ORDER BY created_at LIMIT 1`,
      [unionid],
    );
    return rows[0]?.userId ?? null;
  }

  /**
   * The `/api/me` view of a user in one query: the user with their identities (oldest first), found by id or by
   * the hash of a live (unexpired, unrevoked) session token.
   */
  async findUserWithIdentities(
    by: { userId: string } | { sessionTokenHash: string },
  ): Promise<(UserRow & { identities: IdentityRow[] }) | null> {
    const [name, from, param] =
      'userId' in by
        ? ['me_by_user', 'users u WHERE u.id = $1', by.userId]
        : [
            'me_by_session',
            `sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now()`,
            by.sessionTokenHash,
          ];
    const rows = await this.sql.prepared<UserRow & { identities: IdentityRow[] }>(
      name,
      `SELECT u.id, u.nickname, u.avatar_url AS "avatarUrl", u.phone_number AS "phoneNumber",
         u.pure_phone_number AS "purePhoneNumber", u.country_code AS "countryCode",
         COALESCE((SELECT json_agg(json_build_object('appid', wi.appid, 'openid', wi.openid, 'source', wi.source,
             'unionid', wi.unionid, 'subscribed', wi.subscribed) ORDER BY wi.created_at)
           FROM wechat_identities wi WHERE wi.user_id = u.id), '[]'::json) AS identities
       FROM ${from}`,
      [param],
    );
    return rows[0] ?? null;
  }

  /** Sets the given profile fields; `undefined` leaves a field as it is. */
  async updateUser(
    userId: string,
    fields: Partial<Pick<UserRow, 'nickname' | 'avatarUrl' | 'phoneNumber' | 'purePhoneNumber' | 'countryCode'>>,
  ): Promise<void> {
    const columns: Record<string, string> = {
      nickname: 'nickname',
      avatarUrl: 'avatar_url',
      phoneNumber: 'phone_number',
      purePhoneNumber: 'pure_phone_number',
      countryCode: 'country_code',
    };
    const sets: string[] = [];
    const params: unknown[] = [userId];
    for (const [field, column] of Object.entries(columns)) {
      const value = fields[field as keyof typeof fields];
      if (value !== undefined) {
        params.push(value);
        sets.push(`${column} = $${params.length}`);
      }
    }
    if (sets.length > 0) {
      await this.sql.rows(`UPDATE users SET ${sets.join(', ')}, updated_at = now() WHERE id = $1`, params);
    }
  }

  /** Sets an official-account follower's subscription flag. */
  async setSubscribed(appid: string, openid: string, subscribed: boolean): Promise<boolean> {
    const rows = await this.sql.rows<{ id: string }>(
      `UPDATE wechat_identities SET subscribed = $3, updated_at = now() WHERE appid = $1 AND openid = $2 RETURNING id`,
      [appid, openid, subscribed],
    );
    return rows.length > 0;
  }

  newUserId(): string {
    return randomUUID();
  }
}
