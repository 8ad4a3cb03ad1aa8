import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { queryPrepared, queryRows } from 'src/database/sql-runner';

/** Login sessions, looked up by the SHA-256 of their token. */
@Injectable()
export class SessionRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async create(userId: string, tokenHash: string, ttlSeconds: number): Promise<Date> {
    const rows = await queryRows<{ expiresAt: Date }>(
      this.dataSource,
      `INSERT INTO sessions (user_id, token_hash, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))
       RETURNING expires_at AS "expiresAt"`,
      [userId, tokenHash, ttlSeconds],
    );
    return rows[0].expiresAt;
  }

  /** The user of a live (unexpired, unrevoked) session, or null. */
  async getUserIdByTokenHash(tokenHash: string): Promise<string | null> {
    const rows = await queryPrepared<{ userId: string }>(
      this.dataSource,
      'session_user_by_token',
      `SELECT user_id AS "userId" FROM sessions
       WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()`,
      [tokenHash],
    );
    return rows[0]?.userId ?? null;
  }

  async revoke(tokenHash: string): Promise<void> {
    await queryRows(
      this.dataSource,
      `UPDATE sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL`,
      [tokenHash],
    );
  }
}
