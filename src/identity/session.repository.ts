import { Injectable } from '@nestjs/common';
import { Sql } from 'src/database/sql';

/** Login sessions, looked up by the SHA-256 of their token. */
@Injectable()
export class SessionRepository {
  constructor(private readonly sql: Sql) {}

  /** The user of a live (unexpired, unrevoked) session, or null. */
  async getUserIdByTokenHash(tokenHash: string): Promise<string | null> {
    const rows = await this.sql.prepared<{ userId: string }>(
      'session_user_by_token',
      `SELECT user_id AS "userId" FROM sessions
       WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()`,
      [tokenHash],
    );
    return rows[0]?.userId ?? null;
  }

  async revoke(tokenHash: string): Promise<void> {
    await this.sql.rows(`UPDATE sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL`, [
      tokenHash,
    ]);
  }
}
