import type { DataSource, EntityManager } from 'typeorm';

/**
 * Runs one SQL statement and returns its rows in the same shape on node-postgres and PGlite
 * (TypeORM's unstructured results differ for UPDATE/DELETE). Pass a transaction's EntityManager to run inside it.
 */
export async function queryRows<T>(
  source: DataSource | EntityManager,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const inTransaction = 'queryRunner' in source ? source.queryRunner : undefined;
  const runner = inTransaction ?? (source as DataSource).createQueryRunner();
  try {
    const result = await runner.query(sql, params, true);
    return result.records as T[];
  } finally {
    if (!inTransaction) {
      await runner.release();
    }
  }
}
