import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Messages beyond the passive reply. `wechat_outbound_messages` is the outbox of customer-service, template and
 * subscribe messages: a row is a job, claimed with `FOR UPDATE SKIP LOCKED`; `due_at` is when a queued row may be
 * tried (its backoff) and, while it is `sending`, when its lease runs out and another instance may take it over.
 * `wechat_forwards` is one row per inbound message forwarded to a team's backend: its unique key is the inbound
 * record's, so a message is forwarded once whatever WeChat retries; failed forwards wait there for their next try.
 * `wechat_follower_activity` is each follower's last message or event per official account (the 48-hour window of
 * customer-service messages), one small row per follower instead of an index on the inbound messages.
 */
export class Messaging1764240000000 implements MigrationInterface {
  name = 'Messaging1764240000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE wechat_outbound_messages (
        id uuid CONSTRAINT "PK_wechat_outbound_messages" PRIMARY KEY,
        kind text NOT NULL CONSTRAINT "CHK_wechat_outbound_messages_kind" CHECK (kind IN ('custom', 'template', 'subscribe')),
        appid text NOT NULL,
        touser text NOT NULL,
        payload jsonb NOT NULL,
        idempotency_key text,
        origin text NOT NULL DEFAULT 'api',
        status text NOT NULL DEFAULT 'queued'
          CONSTRAINT "CHK_wechat_outbound_messages_status" CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        due_at timestamptz NOT NULL DEFAULT now(),
        last_errcode integer,
        last_error_code text,
        last_error text,
        wechat_msgid text,
        sent_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "UQ_wechat_outbound_messages_idempotency_key" UNIQUE (appid, idempotency_key)
      )`);
    await queryRunner.query(`
      CREATE INDEX "IDX_wechat_outbound_messages_due" ON wechat_outbound_messages (due_at)
        WHERE status IN ('queued', 'sending')`);
    await queryRunner.query(
      `CREATE INDEX "IDX_wechat_outbound_messages_created" ON wechat_outbound_messages (created_at, id)`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_wechat_outbound_messages_status" ON wechat_outbound_messages (status, created_at, id)`,
    );
    await queryRunner.query(`
      CREATE TABLE wechat_forwards (
        id uuid CONSTRAINT "PK_wechat_forwards" PRIMARY KEY,
        appid text NOT NULL,
        to_user_name text NOT NULL,
        dedupe_key text NOT NULL,
        openid text NOT NULL,
        url text NOT NULL,
        body text NOT NULL,
        reply_wanted boolean NOT NULL,
        status text NOT NULL
          CONSTRAINT "CHK_wechat_forwards_status" CHECK (status IN ('delivering', 'pending', 'delivered', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        due_at timestamptz NOT NULL DEFAULT now(),
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        delivered_at timestamptz,
        CONSTRAINT "UQ_wechat_forwards_message" UNIQUE (to_user_name, dedupe_key)
      )`);
    await queryRunner.query(`
      CREATE INDEX "IDX_wechat_forwards_due" ON wechat_forwards (due_at) WHERE status IN ('delivering', 'pending')`);
    await queryRunner.query(`CREATE INDEX "IDX_wechat_forwards_created" ON wechat_forwards (created_at)`);
    await queryRunner.query(`
      CREATE TABLE wechat_follower_activity (
        appid text NOT NULL,
        openid text NOT NULL,
        last_at timestamptz NOT NULL,
        CONSTRAINT "PK_wechat_follower_activity" PRIMARY KEY (appid, openid)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE wechat_follower_activity');
    await queryRunner.query('DROP TABLE wechat_forwards');
    await queryRunner.query('DROP TABLE wechat_outbound_messages');
  }
}
