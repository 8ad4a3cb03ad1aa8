import { Injectable } from '@nestjs/common';
import { Sql } from 'src/database/sql';

export interface LiveSession {
  userId: string;
  /** The account the session logged in through; null for a session from before accounts. */
  appid: string | null;
}

/** Login sessions, looked up by the SHA-256 of their token. */
@Injectable()
export class SessionRepository {
  constructor(private readonly sql: Sql) {}

  /** The user of a live (unexpired, unrevoked) session and the appid it logged in through, or null. */
  async findLiveByTokenHash(tokenHash: string): Promise<LiveSession | null> {
    const rows = await this.sql.prepared<LiveSession>(
      'session_by_token',
      `SELECT user_id AS "userId", appid FROM sessions
       WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()`,
      [tokenHash],
    );
    return rows[0] ?? null;
  }

  async revoke(tokenHash: string): Promise<void> {
    await this.sql.rows(`UPDATE sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL`, [
      tokenHash,
    ]);
  }
}
