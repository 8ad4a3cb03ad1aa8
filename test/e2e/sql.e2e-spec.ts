import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from 'src/database/database.options';
import { DRIVER_VERSIONS, Sql } from 'src/database/sql';
import { connectDataSource, createTestDatabase, TestDatabase } from 'test/support/test-database';

/** `Sql` reaches into TypeORM's driver; these pin what it relies on, on both databases the service runs on. */
describe(Sql.name, () => {
  const installedVersion = (name: string): string =>
    (
      JSON.parse(readFileSync(join(__dirname, '..', '..', 'node_modules', name, 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;

  it('should be installed with the driver versions its internals were checked against', () => {
    const installed = Object.fromEntries(Object.keys(DRIVER_VERSIONS).map((name) => [name, installedVersion(name)]));
    expect(installed).toEqual(DRIVER_VERSIONS);
  });

  describe('on PostgreSQL', () => {
    let db: TestDatabase;
    let dataSource: DataSource;
    let sut: Sql;

    beforeAll(async () => {
      db = await createTestDatabase();
      dataSource = await connectDataSource(db);
      sut = new Sql(dataSource);
      await sut.rows('CREATE TABLE sql_probe (n integer NOT NULL)');
    });

    afterAll(async () => {
      if (dataSource?.isInitialized) {
        await dataSource.destroy();
      }
      await db?.drop();
    });

    it("should find node-postgres's Pool in the driver's `master` once initialized", () => {
      expect((dataSource.driver as unknown as { master: unknown }).master).toBeInstanceOf(Pool);
    });

    it('should return the rows of a statement with parameters', async () => {
      expect(await sut.rows<{ sum: number }>('SELECT $1::integer + $2::integer AS sum', [2, 3])).toEqual([{ sum: 5 }]);
    });

    it('should run `prepared` as a named prepared statement on the connection it ran on', async () => {
      const rows = await sut.prepared<{ name: string }>(
        'sql_spec_probe',
        'SELECT name FROM pg_prepared_statements WHERE name = $1',
        ['sql_spec_probe'],
      );
      expect(rows).toEqual([{ name: 'sql_spec_probe' }]);
    });

    it('should commit what the work wrote, visible to others only after the commit', async () => {
      const seenOutside = await sut.transaction(async (tx) => {
        await tx.rows('INSERT INTO sql_probe (n) VALUES ($1)', [1]);
        expect(await tx.rows('SELECT n FROM sql_probe WHERE n = 1')).toEqual([{ n: 1 }]);
        return sut.rows('SELECT n FROM sql_probe WHERE n = 1');
      });
      expect(seenOutside).toEqual([]);
      expect(await sut.rows('SELECT n FROM sql_probe WHERE n = 1')).toEqual([{ n: 1 }]);
    });

    it('should roll back when the work throws, and pass its error on', async () => {
      const failure = new Error('work failed');
      await expect(
        sut.transaction(async (tx) => {
          await tx.rows('INSERT INTO sql_probe (n) VALUES ($1)', [2]);
          throw failure;
        }),
      ).rejects.toBe(failure);
      expect(await sut.rows('SELECT n FROM sql_probe WHERE n = 2')).toEqual([]);
    });

    it('should hold a transaction-level advisory lock taken through `tx` until the transaction ends', async () => {
      const tryLock = async () =>
        (await sut.rows<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock(72430099) AS locked'))[0].locked;
      const whileHeld = await sut.transaction(async (tx) => {
        await tx.rows('SELECT pg_advisory_xact_lock(72430099)');
        await tx.rows('SELECT 1');
        return tryLock();
      });
      expect(whileHeld).toBe(false);
      expect(await tryLock()).toBe(true);
    });

    it('should fail with "Driver not Connected" once the data source is destroyed', async () => {
      await dataSource.destroy();
      expect((dataSource.driver as unknown as { master: unknown }).master).toBeUndefined();
      await expect(sut.rows('SELECT 1')).rejects.toThrow('Driver not Connected');
      await expect(sut.prepared('sql_spec_down', 'SELECT 1', [])).rejects.toThrow('Driver not Connected');
    });
  });

  describe('on the embedded database (PGlite)', () => {
    let dataSource: DataSource;
    let sut: Sql;

    beforeAll(async () => {
      const options = buildDataSourceOptions({ pgliteDir: 'memory://' });
      dataSource = await new DataSource({ ...options, logging: false }).initialize();
      sut = new Sql(dataSource);
      await sut.rows('CREATE TABLE sql_probe (n integer NOT NULL)');
    });

    afterAll(async () => {
      await dataSource?.destroy();
    });

    it("should find the serialized PGlite pool of the `driver` option in the driver's `master`", () => {
      const { Pool: SerializedPool } = (dataSource.options as { driver: { Pool: new () => unknown } }).driver;
      const master = (dataSource.driver as unknown as { master: unknown }).master;
      expect(master).toBeInstanceOf(SerializedPool);
      expect(master).not.toBeInstanceOf(Pool);
    });

    it('should return rows, also for `prepared`, which runs the statement plainly', async () => {
      expect(await sut.rows<{ sum: number }>('SELECT $1::integer + $2::integer AS sum', [2, 3])).toEqual([{ sum: 5 }]);
      expect(await sut.prepared<{ n: number }>('sql_spec_plain', 'SELECT $1::integer AS n', [7])).toEqual([{ n: 7 }]);
    });

    it('should commit the work of a transaction and roll back a failed one', async () => {
      await sut.transaction((tx) => tx.rows('INSERT INTO sql_probe (n) VALUES ($1)', [1]));
      await expect(
        sut.transaction(async (tx) => {
          await tx.rows('INSERT INTO sql_probe (n) VALUES ($1)', [2]);
          throw new Error('work failed');
        }),
      ).rejects.toThrow('work failed');
      expect(await sut.rows('SELECT n FROM sql_probe ORDER BY n')).toEqual([{ n: 1 }]);
    });
  });
});
