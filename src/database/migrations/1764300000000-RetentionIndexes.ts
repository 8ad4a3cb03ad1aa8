import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Indexes that let retention find what may go without reading whole tables: recorded webhook messages by when they
 * arrived, sessions by when they expire (oauth_states has its expires_at index already). A btree on received_at
 * grows at its right edge only, as rows arrive in time order: the cheapest index an insert can have. BRIN would be
 * smaller, but once deleted pages are reused by new rows its ranges widen to cover old and new, and every run would
 * read the whole table. Not CONCURRENTLY: that waits for every open transaction, those of the instances waiting for
 * the migration lock among them, which wait for it in turn. Building it holds inserts back for a few seconds per
 * million rows.
 */
export class RetentionIndexes1764300000000 implements MigrationInterface {
  name = 'RetentionIndexes1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX "IDX_wechat_inbound_messages_received_at" ON wechat_inbound_messages (received_at)`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_sessions_expires_at" ON sessions (expires_at)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "IDX_sessions_expires_at"');
    await queryRunner.query('DROP INDEX "IDX_wechat_inbound_messages_received_at"');
  }
}
