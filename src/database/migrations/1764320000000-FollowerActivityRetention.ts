import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Lets retention find follower activity past FOLLOWER_ACTIVITY_RETENTION_DAYS without reading the whole table (one
 * row per follower and account: millions of rows on a large account). The price is on the touches: they move
 * `last_at`, so with an index on it an update is never HOT and writes index entries. Measured on PostgreSQL 15 with
 * 200,000 rows and the repository's 512-row upserts: about 24 µs a row instead of 15 µs. Touches are written in the
 * background, at most once a minute per follower and instance, so that is paid off the reply path; a full scan
 * every 10 minutes instead would cost a read of the whole table each run. Not CONCURRENTLY, for the reason given in
 * RetentionIndexes1764300000000.
 */
export class FollowerActivityRetention1764320000000 implements MigrationInterface {
  name = 'FollowerActivityRetention1764320000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX "IDX_wechat_follower_activity_last_at" ON wechat_follower_activity (last_at)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "IDX_wechat_follower_activity_last_at"');
  }
}
