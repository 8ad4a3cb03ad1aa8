import { MigrationInterface, QueryRunner } from 'typeorm';

/** The official account's inbound messages (recorded once, with the reply given) and its auto-reply rules. */
export class WebhookMessagesAndRules1763900100000 implements MigrationInterface {
  name = 'WebhookMessagesAndRules1763900100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE wechat_inbound_messages (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        to_user_name text NOT NULL,
        dedupe_key text NOT NULL,
        from_user_name text NOT NULL,
        msg_type text NOT NULL,
        event text,
        msg_id text,
        wechat_create_time bigint NOT NULL,
        fields jsonb NOT NULL,
        encrypted boolean NOT NULL DEFAULT false,
        reply text,
        received_at timestamptz NOT NULL DEFAULT now(),
        replied_at timestamptz,
        CONSTRAINT "UQ_wechat_inbound_messages_to_user_dedupe_key" UNIQUE (to_user_name, dedupe_key)
      )`);
    await queryRunner.query(
      `CREATE INDEX "IDX_wechat_inbound_messages_from_user" ON wechat_inbound_messages (from_user_name, received_at)`,
    );
    await queryRunner.query(`
      CREATE TABLE wechat_auto_reply_rules (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        match_kind text NOT NULL CHECK (match_kind IN ('exact', 'contains', 'event')),
        keyword text,
        event text,
        event_key text,
        reply jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((match_kind = 'event') = (event IS NOT NULL AND event_key IS NOT NULL AND keyword IS NULL)),
        CHECK (match_kind = 'event' OR keyword IS NOT NULL)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE wechat_auto_reply_rules');
    await queryRunner.query('DROP TABLE wechat_inbound_messages');
  }
}
