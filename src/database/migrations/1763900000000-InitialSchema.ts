import { MigrationInterface, QueryRunner } from 'typeorm';

/** Users, their WeChat identities, login sessions and the shared access-token cache. */
export class InitialSchema1763900000000 implements MigrationInterface {
  name = 'InitialSchema1763900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        nickname text,
        avatar_url text,
        phone_number text,
        pure_phone_number text,
        country_code text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE wechat_identities (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        appid text NOT NULL,
        openid text NOT NULL,
        source text NOT NULL CHECK (source IN ('official_account', 'mini_program')),
        unionid text,
        subscribed boolean,
        profile jsonb,
        session_key_sealed text,
        refresh_token_sealed text,
        refresh_token_expires_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "UQ_wechat_identities_appid_openid" UNIQUE (appid, openid)
      )`);
    await queryRunner.query(
      `CREATE INDEX "IDX_wechat_identities_unionid" ON wechat_identities (unionid) WHERE unionid IS NOT NULL`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_wechat_identities_user_id" ON wechat_identities (user_id)`);
    await queryRunner.query(`
      CREATE TABLE sessions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        token_hash text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        CONSTRAINT "UQ_sessions_token_hash" UNIQUE (token_hash)
      )`);
    await queryRunner.query(`CREATE INDEX "IDX_sessions_user_id" ON sessions (user_id)`);
    await queryRunner.query(`
      CREATE TABLE access_tokens (
        appid text PRIMARY KEY,
        access_token_sealed text NOT NULL,
        token_hash text NOT NULL,
        expires_at timestamptz NOT NULL,
        refresh_at timestamptz NOT NULL,
        fetched_at timestamptz NOT NULL DEFAULT now(),
        force_refresh_day date,
        force_refresh_count integer NOT NULL DEFAULT 0,
        last_force_refresh_at timestamptz
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE access_tokens');
    await queryRunner.query('DROP TABLE sessions');
    await queryRunner.query('DROP TABLE wechat_identities');
    await queryRunner.query('DROP TABLE users');
  }
}
