import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Pool } from 'pg';
import type { DataSource, QueryRunner } from 'typeorm';

/** Statements run in one place: the pool, or one transaction (see `Sql.transaction`). */
export interface SqlTx {
  /**
   * Runs one statement with `$1…` parameters and returns its rows, with the column names the statement gives them
   * (alias to camelCase in SQL: `user_id AS "userId"`).
   */
  rows<T>(sql: string, params?: unknown[]): Promise<T[]>;
}

/** The versions (package-lock.json) whose driver internals `Sql` relies on, as described on `Sql`. */
export const DRIVER_VERSIONS = { typeorm: '0.3.31', pg: '8.23.1', 'typeorm-pglite': '0.3.4' } as const;

/** The driver's pool as both the pg Pool and src/database/pglite.driver.ts's serialized pool answer it. */
interface RawPool {
  query(sql: string, params: unknown[]): Promise<{ rows: unknown[] }>;
}

/**
 * The one SQL entry point: repositories inject `Sql` and write SQL; TypeORM provides the connection, transactions
 * and migrations. Nothing else in `src` reads TypeORM's driver internals (pglite.driver.ts only supplies the pool
 * class TypeORM builds its PGlite driver on).
 *
 * - `rows(sql, params)`: one statement on the pool, outside any transaction (autocommit).
 * - `prepared(name, sql, params)`: the same as a named prepared statement on node-postgres, for the hot paths.
 * - `withLock(key, work)`: runs `work` holding a lock on `key` across every process of the database (see below).
 * - `transaction(work)`: runs `work` in one transaction at the database's default isolation (READ COMMITTED), committed when it
 *   resolves and rolled back when it throws; its `tx.rows` run inside it. Locks a caller needs (e.g.
 *   `pg_advisory_xact_lock`) are statements the caller runs first through `tx`.
 *
 * Outside a transaction the statement goes straight to the driver's pool: TypeORM's per-query runner costs more than
 * the query on the hot paths. That relies on internals of the versions in `DRIVER_VERSIONS`: TypeORM's
 * PostgresDriver keeps the pool its `initialize()` created in `driver.master` (undefined again after `destroy()`),
 * built with `new options.driver.Pool(...)` when the `driver` option is given (PGlite: the serialized pool of
 * pglite.driver.ts over typeorm-pglite's) and with pg's `Pool` otherwise, whose `query({ name, text, values })`
 * prepares a statement once per connection. test/e2e/sql.e2e-spec.ts fails if any of that moves, or if another
 * version is installed (then check the above against it and update `DRIVER_VERSIONS`).
 */
@Injectable()
export class Sql implements SqlTx {
  /** The embedded database's locks (see `withLock`): the tail of each key's queue. */
  private readonly locks = new Map<string, Promise<void>>();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async rows<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    const pool = (this.dataSource.driver as unknown as { master?: RawPool }).master;
    if (!pool) {
      throw new Error('Driver not Connected');
    }
    const result = await pool.query(sql, params);
    return result.rows as T[];
  }

  /**
   * Runs one hot statement as a named prepared statement on node-postgres: each pooled connection parses and plans it
   * once, then only binds and executes it — about half of PostgreSQL's CPU per web login (docs/BENCHMARKS.md). `name`
   * must stand for exactly one SQL text. On the embedded database it is `rows`. Inside a transaction use `tx.rows`.
   */
  async prepared<T>(name: string, sql: string, params: unknown[]): Promise<T[]> {
    const pool = (this.dataSource.driver as unknown as { master?: unknown }).master;
    if (pool instanceof Pool) {
      const result = await pool.query({ name, text: sql, values: params });
      return result.rows as T[];
    }
    return this.rows<T>(sql, params);
  }

  /** The pool's connections (all, idle) and the queries waiting for one; undefined on the embedded database. */
  poolUsage(): PoolUsage | undefined {
    const pool = (this.dataSource.driver as unknown as { master?: unknown }).master;
    if (pool instanceof Pool) {
      return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
    }
    return undefined;
  }

  /**
   * Runs `work` only if no other instance is running work under the same `lockKey` (a session advisory lock, held
   * on a connection of its own while `work` runs; its statements go through this Sql as usual, each committed on
   * its own); resolves to false without running it otherwise. The lock goes with the connection if the process dies.
   * The embedded database serves one process (and lends its one session to one caller at a time): no lock there.
   */
  async exclusively(lockKey: number, work: () => Promise<void>): Promise<boolean> {
    if (!((this.dataSource.driver as unknown as { master?: unknown }).master instanceof Pool)) {
      await work();
      return true;
    }
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const [row] = (await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [lockKey])) as {
        locked: boolean;
      }[];
      if (!row.locked) {
        return false;
      }
      try {
        await work();
      } finally {
        await runner.query('SELECT pg_advisory_unlock($1)', [lockKey]);
      }
      return true;
    } finally {
      await runner.release();
    }
  }

  /** Runs `work` in one transaction on one connection; see the class comment. */
  transaction<T>(work: (tx: SqlTx) => Promise<T>): Promise<T> {
    return this.dataSource.transaction((manager) => work(new TransactionSql(manager.queryRunner!)));
  }

  /**
   * Runs `work` while holding a lock on `key`, so that of every process sharing the database one at a time runs it
   * (e.g. one WeChat fetch per appid). On PostgreSQL: a transaction holding `pg_advisory_xact_lock(hashtext(key))`,
   * released at commit or rollback, also when the process dies; `work`'s `tx` runs in it. On the embedded database
   * (one process, one session): an in-process lock, and `tx` runs each statement on its own — holding the single
   * session in a transaction while `work` needs another statement elsewhere (a ticket fetch reading the access token
   * it needs) would wait for itself.
   */
  withLock<T>(key: string, work: (tx: SqlTx) => Promise<T>): Promise<T> {
    if ((this.dataSource.driver as unknown as { master?: unknown }).master instanceof Pool) {
      return this.transaction(async (tx) => {
        // The wait for the lock lasts as long as another instance's work (a WeChat call): not cut by the requests'
        // statement time-out.
        await tx.rows('SET LOCAL statement_timeout = 0');
        await tx.rows('SELECT pg_advisory_xact_lock(hashtext($1))', [key]);
        return work(tx);
      });
    }
    const previous = this.locks.get(key) ?? Promise.resolve();
    const run = previous.then(() => work(this));
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) {
        this.locks.delete(key);
      }
    });
    return run;
  }
}

/** How busy the connection pool is (node-postgres), for the metrics. */
export interface PoolUsage {
  total: number;
  idle: number;
  waiting: number;
}

/** `SqlTx` bound to the query runner TypeORM holds the transaction on. */
class TransactionSql implements SqlTx {
  constructor(private readonly runner: QueryRunner) {}

  async rows<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    const result = await this.runner.query(sql, params, true);
    return result.records as T[];
  }
}
