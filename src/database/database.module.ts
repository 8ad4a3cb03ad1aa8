import { Global, Logger, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, DataSourceOptions } from 'typeorm';
import type { Configuration } from 'src/config/configuration';
import { buildDataSourceOptions } from 'src/database/database.options';
import { ChangeFeed } from 'src/database/change-feed';
import { Sql } from 'src/database/sql';

/** Arbitrary, fixed key of the advisory lock that serializes migrations across instances starting together. */
const MIGRATION_LOCK_KEY = 72_430_001;

/**
 * Runs pending migrations once across instances: on PostgreSQL under a session advisory lock, so that instances
 * started at the same moment do not both try to create the same table. The embedded database serves one process.
 */
export async function runMigrations(dataSource: DataSource, shared: boolean): Promise<void> {
  if (!shared) {
    await dataSource.runMigrations({ transaction: 'each' });
    return;
  }
  const lock = dataSource.createQueryRunner();
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const ran = await dataSource.runMigrations({ transaction: 'each' });
    if (ran.length > 0) {
      new Logger('Database').log(`Ran ${ran.length} migration(s): ${ran.map((m) => m.name).join(', ')}`);
    }
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await lock.release();
  }
}

/** The same options with statement_timeout off, and a small pool: the migration lock's connection and one more. */
function withoutStatementTimeout(options: DataSourceOptions): DataSourceOptions {
  const extra = (options as { extra?: Record<string, unknown> }).extra;
  return { ...options, poolSize: 2, extra: { ...extra, statement_timeout: 0 } } as DataSourceOptions;
}

/**
 * The connection, migrated at start-up; `Sql`, the one way repositories run SQL; and `ChangeFeed`, the news of the
 * other instances. Global: every feature module has
 * a repository.
 */
@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<Configuration, true>) => ({
        ...buildDataSourceOptions(config.get('database', { infer: true })),
        // Fail start-up at once rather than retrying for half a minute when the database is unreachable.
        retryAttempts: 0,
      }),
      dataSourceFactory: async (options?: DataSourceOptions) => {
        const shared = 'url' in options! && Boolean(options.url);
        if (!shared) {
          const dataSource = await new DataSource(options!).initialize();
          await runMigrations(dataSource, false);
          return dataSource;
        }
        // Migrations (and the wait for another instance's) may take longer than a request's statement_timeout: they
        // run on connections of their own, without it, closed before the service's pool opens.
        const migrator = await new DataSource(withoutStatementTimeout(options!)).initialize();
        try {
          await runMigrations(migrator, true);
        } finally {
          await migrator.destroy();
        }
        return new DataSource(options!).initialize();
      },
    }),
  ],
  providers: [Sql, ChangeFeed],
  exports: [Sql, ChangeFeed],
})
export class DatabaseModule {}
