import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `access_tokens` holds every short-lived credential of an appid that WeChat issues and the service shares: the
 * access_token and the JS-SDK jsapi_ticket. They are fetched, refreshed, locked, compared-and-expired and announced
 * the same way, so they share one table and one code path, told apart by `kind`; the key becomes (appid, kind).
 * Existing rows are access tokens, and so is a row written without a kind. The force_refresh columns only ever move
 * for access tokens.
 */
export class CredentialKinds1764100000000 implements MigrationInterface {
  name = 'CredentialKinds1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE access_tokens
        ADD COLUMN kind text NOT NULL DEFAULT 'access_token',
        DROP CONSTRAINT access_tokens_pkey,
        ADD CONSTRAINT "PK_access_tokens" PRIMARY KEY (appid, kind),
        ADD CONSTRAINT "CHK_access_tokens_kind" CHECK (kind IN ('access_token', 'jsapi_ticket'))`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM access_tokens WHERE kind <> 'access_token'`);
    await queryRunner.query(`
      ALTER TABLE access_tokens
        DROP CONSTRAINT "CHK_access_tokens_kind",
        DROP CONSTRAINT "PK_access_tokens",
        DROP COLUMN kind,
        ADD CONSTRAINT access_tokens_pkey PRIMARY KEY (appid)`);
  }
}
