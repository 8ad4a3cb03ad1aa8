import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Accounts as data: official accounts and mini-programs added through the admin API (the env ones are not stored).
 * Secrets (AppSecret, Token, EncodingAESKeys) are sealed with DATA_ENCRYPTION_KEY. Auto-reply rules and pending
 * OAuth states now belong to one account; the rules that existed belong to the default official account, which
 * the empty appid stands for until the service, started with WECHAT_OA_APPID, gives them its appid.
 */
export class WechatAccounts1764000000000 implements MigrationInterface {
  name = 'WechatAccounts1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE wechat_accounts (
        appid text CONSTRAINT "PK_wechat_accounts" PRIMARY KEY,
        kind text NOT NULL CONSTRAINT "CHK_wechat_accounts_kind" CHECK (kind IN ('official_account', 'mini_program')),
        name text,
        secret_sealed text NOT NULL,
        token_sealed text,
        aes_key_sealed text,
        previous_aes_key_sealed text,
        previous_aes_key_until timestamptz,
        welcome_text text,
        domain_verify text,
        forward_url text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "CHK_wechat_accounts_official_account_fields"
          CHECK (kind = 'official_account' OR (token_sealed IS NULL AND aes_key_sealed IS NULL))
      )`);
    await queryRunner.query(`ALTER TABLE wechat_auto_reply_rules ADD COLUMN appid text NOT NULL DEFAULT ''`);
    await queryRunner.query(
      `CREATE INDEX "IDX_wechat_auto_reply_rules_appid" ON wechat_auto_reply_rules (appid, created_at)`,
    );
    await queryRunner.query(`ALTER TABLE oauth_states ADD COLUMN appid text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE oauth_states DROP COLUMN appid');
    await queryRunner.query('DROP INDEX "IDX_wechat_auto_reply_rules_appid"');
    await queryRunner.query('ALTER TABLE wechat_auto_reply_rules DROP COLUMN appid');
    await queryRunner.query('DROP TABLE wechat_accounts');
  }
}
