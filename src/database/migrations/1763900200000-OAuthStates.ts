import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Pending web authorizations: one row per `state` handed to WeChat, consumed once by the callback.
 * UNLOGGED: the rows live 10 minutes and losing them in a crash only means "log in again", so their inserts and
 * deletes skip the WAL and its fsync (two of the five commits of a login).
 */
export class OAuthStates1763900200000 implements MigrationInterface {
  name = 'OAuthStates1763900200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE UNLOGGED TABLE oauth_states (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        state_hash text NOT NULL,
        browser_hash text NOT NULL,
        scope text NOT NULL CHECK (scope IN ('snsapi_base', 'snsapi_userinfo')),
        return_to text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        CONSTRAINT "UQ_oauth_states_state_hash" UNIQUE (state_hash)
      )`);
    await queryRunner.query(`CREATE INDEX "IDX_oauth_states_expires_at" ON oauth_states (expires_at)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE oauth_states');
  }
}
