import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import type { DatabaseConfig } from 'src/config/configuration';
import { createSerializedPGliteDriver } from 'src/database/pglite.driver';
import { TypeOrmLogger } from 'src/database/typeorm-logger';

/** Entities and migrations are found by file pattern so feature modules add theirs without touching this file. */
const ENTITIES = [join(__dirname, '..', '**', '*.entity.{ts,js}')];
const MIGRATIONS = [join(__dirname, 'migrations', '*.{ts,js}')];

/**
 * The longest a statement of the service may run on PostgreSQL: a request waiting on a locked row or a stuck
 * database is answered 503 `database_unavailable` within this, rather than hanging for as long as the lock is held.
 * Work that may rightly take longer sets its own: migrations run on a connection without it (DatabaseModule), and
 * the token fetch lock, held while WeChat answers, lifts it for its own transaction (access-token.repository.ts).
 */
export const STATEMENT_TIMEOUT_MS = 5000;

export interface DataSourceTuning {
  /** 0: no time-out (migrations, `npm run reseal`). Default STATEMENT_TIMEOUT_MS. */
  statementTimeoutMs?: number;
}

/**
 * TypeORM options for PostgreSQL at DATABASE_URL, or the embedded PGlite in PGLITE_DIR when it is unset.
 * Schema changes only ever come from migrations, which DatabaseModule runs at start-up. TypeORM's own lines (the
 * pool's errors among them) go through the app's logger, as JSON like every other line.
 */
export function buildDataSourceOptions(config: DatabaseConfig, tuning: DataSourceTuning = {}): DataSourceOptions {
  const common = {
    type: 'postgres' as const,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTransactionMode: 'each' as const,
    synchronize: false,
    // gen_random_uuid() is built in from PostgreSQL 13 and in PGlite; no extension is needed or installed.
    installExtensions: false,
    uuidExtension: 'pgcrypto' as const,
    logging: ['error' as const, 'warn' as const, 'migration' as const],
    logger: new TypeOrmLogger(),
  };
  if (config.url) {
    return {
      ...common,
      url: config.url,
      poolSize: 20,
      connectTimeoutMS: 3000,
      // node-postgres sends it as a start-up parameter of every connection of the pool.
      extra: { idleTimeoutMillis: 30000, statement_timeout: tuning.statementTimeoutMs ?? STATEMENT_TIMEOUT_MS },
    };
  }
  const dataDir = config.pgliteDir;
  if (!dataDir.startsWith('memory://')) {
    mkdirSync(dataDir, { recursive: true });
  }
  return {
    ...common,
    driver: createSerializedPGliteDriver({ dataDir }),
  };
}
