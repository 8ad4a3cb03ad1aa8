import { Injectable } from '@nestjs/common';
import { Change, ChangeFeed } from 'src/database/change-feed';
import { Sql, SqlTx } from 'src/database/sql';
import { CREDENTIAL_TOPIC, credentialKey, CredentialKind, DROPPED } from 'src/token/credential-kind';

export interface StoredAccessToken {
  appid: string;
  kind: CredentialKind;
  /** The token or ticket, sealed. */
  accessTokenSealed: string;
  tokenHash: string;
  expiresAt: Date;
  refreshAt: Date;
  /** Forced refreshes made on the current Beijing day (access tokens only). */
  forceRefreshesToday: number;
  lastForceRefreshAt: Date | null;
}

export interface NewAccessToken {
  appid: string;
  kind: CredentialKind;
  accessTokenSealed: string;
  tokenHash: string;
  expiresAt: Date;
  refreshAt: Date;
}

/** WeChat's daily quotas reset at midnight Beijing time (UTC+8, no daylight saving). */
const BEIJING_TODAY = `((now() AT TIME ZONE 'UTC') + interval '8 hours')::date`;

const COLUMNS = `appid, kind, access_token_sealed AS "accessTokenSealed", token_hash AS "tokenHash",
  expires_at AS "expiresAt", refresh_at AS "refreshAt",
  CASE WHEN force_refresh_day = ${BEIJING_TODAY} THEN force_refresh_count ELSE 0 END AS "forceRefreshesToday",
  last_force_refresh_at AS "lastForceRefreshAt"`;

const change = (kind: CredentialKind, appid: string, detail: string): Change => ({
  topic: CREDENTIAL_TOPIC,
  key: credentialKey(kind, appid),
  detail,
});

/**
 * The shared store of access tokens and tickets, one row per (appid, kind). Locks live here: one fetch at a time per
 * appid and kind across every instance. Every write that replaces or expires a row publishes a {@link CREDENTIAL_TOPIC}
 * change in the same transaction (the new hash, or `dropped`; never the value), so every instance hears of it exactly
 * when it is committed.
 */
@Injectable()
export class AccessTokenRepository {
  constructor(private readonly sql: Sql) {}

  async find(kind: CredentialKind, appid: string, tx?: SqlTx): Promise<StoredAccessToken | null> {
    const rows = await (tx ?? this.sql).rows<StoredAccessToken>(
      `SELECT ${COLUMNS} FROM access_tokens WHERE appid = $1 AND kind = $2`,
      [appid, kind],
    );
    return rows[0] ?? null;
  }

  /**
   * Runs `work` holding the fetch lock of this appid and kind (`Sql.withLock`: a PostgreSQL advisory lock, released
   * at commit or rollback, also when the process dies), so that of all instances only one fetches at a time; the
   * others wait and then find the stored row fresh.
   */
  withFetchLock<T>(kind: CredentialKind, appid: string, work: (tx: SqlTx) => Promise<T>): Promise<T> {
    return this.sql.withLock(credentialKey(kind, appid), work);
  }

  /** Stores the new token or ticket and announces its hash, in `tx`. `forced` counts a force_refresh. */
  async save(token: NewAccessToken, tx: SqlTx, forced = false): Promise<void> {
    await tx.rows(
      `INSERT INTO access_tokens (appid, kind, access_token_sealed, token_hash, expires_at, refresh_at, fetched_at,
         force_refresh_day, force_refresh_count, last_force_refresh_at)
       VALUES ($1, $7, $2, $3, $4, $5, now(), CASE WHEN $6::boolean THEN ${BEIJING_TODAY} END,
         CASE WHEN $6::boolean THEN 1 ELSE 0 END, CASE WHEN $6::boolean THEN now() END)
       ON CONFLICT (appid, kind) DO UPDATE SET
         access_token_sealed = EXCLUDED.access_token_sealed, token_hash = EXCLUDED.token_hash,
         expires_at = EXCLUDED.expires_at, refresh_at = EXCLUDED.refresh_at, fetched_at = now(),
         force_refresh_count = CASE
           WHEN NOT $6::boolean THEN access_tokens.force_refresh_count
           WHEN access_tokens.force_refresh_day = ${BEIJING_TODAY} THEN access_tokens.force_refresh_count + 1
           ELSE 1 END,
         force_refresh_day = CASE WHEN $6::boolean THEN ${BEIJING_TODAY} ELSE access_tokens.force_refresh_day END,
         last_force_refresh_at = CASE WHEN $6::boolean THEN now() ELSE access_tokens.last_force_refresh_at END`,
      [token.appid, token.accessTokenSealed, token.tokenHash, token.expiresAt, token.refreshAt, forced, token.kind],
    );
    await tx.rows(...ChangeFeed.notifySql(change(token.kind, token.appid, token.tokenHash)));
  }

  /**
   * Compare-and-expire: marks the row due for refresh only if it still holds `tokenHash`, and then announces it as
   * dropped — one statement, so the announcement commits with the change. False when it was already replaced.
   */
  async expireIfCurrent(kind: CredentialKind, appid: string, tokenHash: string): Promise<boolean> {
    const rows = await this.sql.rows<{ appid: string }>(
      `WITH expired AS (
         UPDATE access_tokens SET refresh_at = now() - interval '1 second', expires_at = now() - interval '1 second'
         WHERE appid = $1 AND kind = $2 AND token_hash = $3 AND refresh_at > now() - interval '1 second'
         RETURNING appid)
       SELECT appid, pg_notify($4, $5) FROM expired`,
      [appid, kind, tokenHash, ...ChangeFeed.notifySql(change(kind, appid, DROPPED))[1]],
    );
    return rows.length > 0;
  }
}
