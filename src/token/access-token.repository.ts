import { Injectable } from '@nestjs/common';
import { Sql, SqlTx } from 'src/database/sql';

export interface StoredAccessToken {
  appid: string;
  accessTokenSealed: string;
  tokenHash: string;
  expiresAt: Date;
  refreshAt: Date;
  /** Forced refreshes made on the current Beijing day. */
  forceRefreshesToday: number;
  lastForceRefreshAt: Date | null;
}

export interface NewAccessToken {
  appid: string;
  accessTokenSealed: string;
  tokenHash: string;
  expiresAt: Date;
  refreshAt: Date;
}

/** WeChat's daily quotas reset at midnight Beijing time (UTC+8, no daylight saving). */
const BEIJING_TODAY = `((now() AT TIME ZONE 'UTC') + interval '8 hours')::date`;

const COLUMNS = `appid, access_token_sealed AS "accessTokenSealed", token_hash AS "tokenHash", expires_at AS "expiresAt",
  refresh_at AS "refreshAt",
  CASE WHEN force_refresh_day = ${BEIJING_TODAY} THEN force_refresh_count ELSE 0 END AS "forceRefreshesToday",
  last_force_refresh_at AS "lastForceRefreshAt"`;

/** The shared access-token cache. Locks live here: one fetch at a time per appid across every instance. */
@Injectable()
export class AccessTokenRepository {
  constructor(private readonly sql: Sql) {}

  async find(appid: string, tx?: SqlTx): Promise<StoredAccessToken | null> {
    const rows = await (tx ?? this.sql).rows<StoredAccessToken>(
      `SELECT ${COLUMNS} FROM access_tokens WHERE appid = $1`,
      [appid],
    );
    return rows[0] ?? null;
  }

  /**
   * Runs `work` in a transaction holding a PostgreSQL advisory lock for this appid, so that of all instances only
   * one fetches a token at a time; the others wait and then find the stored token fresh. The lock is released at
   * commit or rollback, also when the process dies.
   */
  withFetchLock<T>(appid: string, work: (tx: SqlTx) => Promise<T>): Promise<T> {
    return this.sql.transaction(async (tx) => {
      // The wait for the lock lasts as long as another instance's WeChat call: not cut by the request time-out.
      await tx.rows('SET LOCAL statement_timeout = 0');
      await tx.rows(`SELECT pg_advisory_xact_lock(hashtext('access_token:' || $1))`, [appid]);
      return work(tx);
    });
  }

  async save(token: NewAccessToken, tx: SqlTx, forced = false): Promise<void> {
    await tx.rows(
      `INSERT INTO access_tokens (appid, access_token_sealed, token_hash, expires_at, refresh_at, fetched_at,
         force_refresh_day, force_refresh_count, last_force_refresh_at)
       VALUES ($1, $2, $3, $4, $5, now(), CASE WHEN $6::boolean THEN ${BEIJING_TODAY} END, CASE WHEN $6::boolean THEN 1 ELSE 0 END,
         CASE WHEN $6::boolean THEN now() END)
       ON CONFLICT (appid) DO UPDATE SET
         access_token_sealed = EXCLUDED.access_token_sealed, token_hash = EXCLUDED.token_hash,
         expires_at = EXCLUDED.expires_at, refresh_at = EXCLUDED.refresh_at, fetched_at = now(),
         force_refresh_count = CASE
           WHEN NOT $6::boolean THEN access_tokens.force_refresh_count
           WHEN access_tokens.force_refresh_day = ${BEIJING_TODAY} THEN access_tokens.force_refresh_count + 1
           ELSE 1 END,
         force_refresh_day = CASE WHEN $6::boolean THEN ${BEIJING_TODAY} ELSE access_tokens.force_refresh_day END,
         last_force_refresh_at = CASE WHEN $6::boolean THEN now() ELSE access_tokens.last_force_refresh_at END`,
      [token.appid, token.accessTokenSealed, token.tokenHash, token.expiresAt, token.refreshAt, forced],
    );
  }

  /** Compare-and-expire: marks the token due for refresh only if it is still the stored one. */
  async expireIfCurrent(appid: string, tokenHash: string): Promise<boolean> {
    const rows = await this.sql.rows<{ appid: string }>(
      `UPDATE access_tokens SET refresh_at = now() - interval '1 second', expires_at = now() - interval '1 second'
       WHERE appid = $1 AND token_hash = $2 AND refresh_at > now() - interval '1 second' RETURNING appid`,
      [appid, tokenHash],
    );
    return rows.length > 0;
  }
}
