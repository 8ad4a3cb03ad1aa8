import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import type { DatabaseConfig } from 'src/config/configuration';
import { createSerializedPGliteDriver } from 'src/database/pglite.driver';

/** Entities and migrations are found by file pattern so feature modules add theirs without touching this file. */
const ENTITIES = [join(__dirname, '..', '**', '*.entity.{ts,js}')];
const MIGRATIONS = [join(__dirname, 'migrations', '*.{ts,js}')];

/**
 * TypeORM options for PostgreSQL at DATABASE_URL, or the embedded PGlite in PGLITE_DIR when it is unset.
 * Schema changes only ever come from migrations, which DatabaseModule runs at start-up.
 */
export function buildDataSourceOptions(config: DatabaseConfig): DataSourceOptions {
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
  };
  if (config.url) {
    return {
      ...common,
      url: config.url,
      poolSize: 20,
      connectTimeoutMS: 3000,
      extra: { idleTimeoutMillis: 30000 },
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
