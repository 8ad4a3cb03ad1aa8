import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Scan-to-login attempts (扫码登录): one row per QR code shown on a desktop, from `pending` to `scanned` (by an
 * openid) to `confirmed` or `denied`. Expiry is `expires_at`, not a status. Rows are kept past their expiry only until
 * the retention job deletes them (`QrLoginRetention`), through the expires_at index.
 */
export class QrLoginAttempts1764230000000 implements MigrationInterface {
  name = 'QrLoginAttempts1764230000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE qr_login_attempts (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        appid text NOT NULL,
        scene text NOT NULL,
        browser_hash text NOT NULL,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'scanned', 'confirmed', 'denied')),
        openid text,
        return_to text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        scanned_at timestamptz,
        decided_at timestamptz,
        consumed_at timestamptz,
        CONSTRAINT "UQ_qr_login_attempts_appid_scene" UNIQUE (appid, scene)
      )`);
    await queryRunner.query(`CREATE INDEX "IDX_qr_login_attempts_expires_at" ON qr_login_attempts (expires_at)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE qr_login_attempts');
  }
}
