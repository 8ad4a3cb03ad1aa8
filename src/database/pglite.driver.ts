import type { PGliteOptions } from '@electric-sql/pglite';
import { EventEmitter } from 'node:events';
import { PGliteDriver } from 'typeorm-pglite';

type Callback = (error: Error | null, result?: unknown) => void;
type Release = (error?: unknown) => void;

interface PGliteResult {
  rows: unknown[];
  affectedRows?: number;
  rowCount?: number;
}

interface PoolLike {
  query(sql: string, params?: unknown[] | Callback, cb?: Callback): Promise<PGliteResult>;
  end(cb: (error: Error | null) => void): void;
}

/**
 * One "connection" of the serialized pool: queries run on the shared PGlite instance while this connection holds
 * the pool's lock, so a transaction never interleaves with another request's statements.
 */
class SerializedConnection extends EventEmitter {
  constructor(private readonly pool: PoolLike) {
    super();
  }

  async query(sql: string, params?: unknown[] | Callback, cb?: Callback): Promise<PGliteResult> {
    const result = await this.pool.query(sql, params, cb);
    // node-postgres reports rowCount; PGlite calls it affectedRows. TypeORM reads rowCount.
    if (result && result.rowCount === undefined) {
      result.rowCount = result.affectedRows ?? result.rows?.length ?? 0;
    }
    return result;
  }
}

/**
 * PGlite is a single-session database. typeorm-pglite hands every caller the same session, so two concurrent
 * transactions would share one BEGIN … COMMIT. This pool lends the session to one caller at a time instead.
 */
function serializedPool(Base: new () => PoolLike) {
  return class SerializedPGlitePool extends EventEmitter {
    private readonly inner = new Base();
    private tail: Promise<void> = Promise.resolve();

    connect(callback: (error: Error | null, connection: SerializedConnection | null, release: Release) => void): void {
      let unlock!: () => void;
      const turn = new Promise<void>((resolve) => (unlock = resolve));
      const previous = this.tail;
      this.tail = previous.then(() => turn);
      void previous.then(() => {
        let released = false;
        const release: Release = () => {
          if (!released) {
            released = true;
            unlock();
          }
        };
        callback(null, new SerializedConnection(this.inner), release);
      });
    }

    async query(sql: string, params?: unknown[]): Promise<PGliteResult> {
      return new Promise((resolve, reject) => {
        this.connect((_error, connection, release) => {
          connection!
            .query(sql, params)
            .then(resolve, reject)
            .finally(() => release());
        });
      });
    }

    end(callback: (error: Error | null) => void): void {
      void this.tail.then(() => this.inner.end(callback));
    }
  };
}

/** typeorm-pglite's driver with a pool that serializes access to the single PGlite session. */
export function createSerializedPGliteDriver(options: PGliteOptions): { Pool: unknown } {
  const base = new PGliteDriver(options).driver as unknown as { Pool: new () => PoolLike };
  return { Pool: serializedPool(base.Pool) };
}
