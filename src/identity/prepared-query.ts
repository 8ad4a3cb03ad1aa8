import { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { queryRows } from 'src/database/sql-runner';

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
