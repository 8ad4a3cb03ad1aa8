import { Pool } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';

interface RawPool {
  query(sql: string, params: unknown[]): Promise<{ rows: unknown[] }>;
}

/**
 * Runs one SQL statement and returns its rows, the same on node-postgres and PGlite. Outside a transaction it goes
 * straight to the driver's pool (TypeORM's per-query runner costs more than the query on the hot paths); pass a
 * transaction's EntityManager to run inside that transaction.
 */
export async function queryRows<T>(
  source: DataSource | EntityManager,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const transaction = 'queryRunner' in source ? source.queryRunner : undefined;
  if (transaction) {
    const result = await transaction.query(sql, params, true);
    return result.records as T[];
  }
  const dataSource = 'driver' in source ? source : source.connection;
  const pool = (dataSource.driver as unknown as { master?: RawPool }).master;
  if (!pool) {
    throw new Error('Driver not Connected');
  }
  const result = await pool.query(sql, params);
  return result.rows as T[];
}

/**
 * Runs one hot statement as a named prepared statement on node-postgres: each pooled connection parses and plans it
 * once, then only binds and executes it — about half of PostgreSQL's CPU per web login (docs/BENCHMARKS.md). `name`
 * must stand for exactly one SQL text. Elsewhere (the embedded database) it is `queryRows`. Statements inside a
 * transaction go through `queryRows` with the transaction's EntityManager as before.
 */
export async function queryPrepared<T>(
  dataSource: DataSource,
  name: string,
  sql: string,
  params: unknown[],
): Promise<T[]> {
  const pool = (dataSource.driver as unknown as { master?: unknown }).master;
  if (pool instanceof Pool) {
    const result = await pool.query({ name, text: sql, values: params });
    return result.rows as T[];
  }
  return queryRows<T>(dataSource, sql, params);
}
