import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Account binding by intent and the account of a session. A pending OAuth state remembers the user who asked to
 * bind (`/oauth/authorize?bind=1`; null: a plain login, as every state from before). A session remembers the appid
 * it logged in through, so that `/miniprogram/phone` uses that mini-program (null: a session from before, which is
 * taken as the default mini-program's).
 */
export class BindingAndSessionAccounts1764200000000 implements MigrationInterface {
  name = 'BindingAndSessionAccounts1764200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE oauth_states ADD COLUMN bind_user_id uuid`);
    await queryRunner.query(`ALTER TABLE sessions ADD COLUMN appid text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE sessions DROP COLUMN appid');
    await queryRunner.query('ALTER TABLE oauth_states DROP COLUMN bind_user_id');
  }
}
