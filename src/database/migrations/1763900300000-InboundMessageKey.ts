import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Inbound messages are found by their key — the official account and WeChat's dedupe key — and by nothing else, so
 * the key becomes the primary key: the uuid column, its index and the unused (from_user_name, received_at) index go.
 * Every delivery inserts a row, and each index is a page write and WAL record more per row (PostgreSQL's CPU per
 * recorded message fell by about a fifth, docs/BENCHMARKS.md).
 */
export class InboundMessageKey1763900300000 implements MigrationInterface {
  name = 'InboundMessageKey1763900300000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "IDX_wechat_inbound_messages_from_user"');
    await queryRunner.query(`
      ALTER TABLE wechat_inbound_messages
        DROP CONSTRAINT "UQ_wechat_inbound_messages_to_user_dedupe_key",
        DROP CONSTRAINT wechat_inbound_messages_pkey,
        DROP COLUMN id,
        ADD CONSTRAINT "PK_wechat_inbound_messages" PRIMARY KEY (to_user_name, dedupe_key)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE wechat_inbound_messages
        DROP CONSTRAINT "PK_wechat_inbound_messages",
        ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid(),
        ADD CONSTRAINT wechat_inbound_messages_pkey PRIMARY KEY (id),
        ADD CONSTRAINT "UQ_wechat_inbound_messages_to_user_dedupe_key" UNIQUE (to_user_name, dedupe_key)`);
    await queryRunner.query(
      `CREATE INDEX "IDX_wechat_inbound_messages_from_user" ON wechat_inbound_messages (from_user_name, received_at)`,
    );
  }
}
