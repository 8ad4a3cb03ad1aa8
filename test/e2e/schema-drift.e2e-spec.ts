import { DataSource } from 'typeorm';
import { connectDataSource, createTestDatabase, TestDatabase } from 'test/support/test-database';

/**
 * The entities document the schema next to the repositories and are what `npm run migration:generate` diffs against,
 * so they must describe exactly what the migrations build. Two databases: one built by the migrations, one by
 * TypeORM from the entities alone.
 */
describe('Schema drift (entities against migrations, PostgreSQL)', () => {
  let migratedDb: TestDatabase;
  let entityDb: TestDatabase;
  let migrated: DataSource;
  let fromEntities: DataSource;

  const tablesOf = (dataSource: DataSource): string[] =>
    dataSource.entityMetadatas.map((metadata) => metadata.tableName).sort();

  /** What PostgreSQL says about the entities' tables: columns, constraints (with their definitions) and indexes. */
  const catalogOf = async (dataSource: DataSource) => {
    const tables = tablesOf(dataSource);
    const [columns, constraints, indexes] = await Promise.all([
      dataSource.query(
        `SELECT table_name, column_name, data_type, udt_name, is_nullable, column_default
           FROM information_schema.columns
          WHERE table_schema = 'public' AND table_name = ANY($1)
          ORDER BY table_name, column_name`,
        [tables],
      ),
      dataSource.query(
        `SELECT c.relname AS table_name, con.conname AS name, pg_get_constraintdef(con.oid) AS definition
           FROM pg_constraint con
           JOIN pg_class c ON c.oid = con.conrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relname = ANY($1)
          ORDER BY c.relname, con.conname`,
        [tables],
      ),
      dataSource.query(
        `SELECT tablename AS table_name, indexname AS name, indexdef AS definition
           FROM pg_indexes
          WHERE schemaname = 'public' AND tablename = ANY($1)
          ORDER BY tablename, indexname`,
        [tables],
      ),
    ]);
    return { columns, constraints, indexes };
  };

  const persistenceOf = async (dataSource: DataSource): Promise<Record<string, string>> => {
    const rows = await dataSource.query<{ name: string; persistence: string }[]>(
      `SELECT relname AS name, relpersistence AS persistence FROM pg_class
        WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace AND relname = ANY($1)`,
      [tablesOf(dataSource)],
    );
    return Object.fromEntries(rows.map((row) => [row.name, row.persistence]));
  };

  beforeAll(async () => {
    [migratedDb, entityDb] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    [migrated, fromEntities] = await Promise.all([connectDataSource(migratedDb), connectDataSource(entityDb)]);
    await migrated.runMigrations({ transaction: 'each' });
    await fromEntities.synchronize();
  });

  afterAll(async () => {
    await Promise.all([migrated?.destroy(), fromEntities?.destroy()]);
    await Promise.all([migratedDb?.drop(), entityDb?.drop()]);
  });

  it('should leave TypeORM nothing to change after the migrations', async () => {
    const log = await migrated.driver.createSchemaBuilder().log();
    // The statements themselves are the failure message: they say which entity disagrees, and how.
    expect(log.upQueries.map((query) => query.query)).toEqual([]);
  });

  // TypeORM's diff compares checks and partial indexes by name only; the catalogs compare their definitions too.
  it('should build from the entities the same columns, constraints and indexes as the migrations', async () => {
    expect(await catalogOf(fromEntities)).toEqual(await catalogOf(migrated));
  });

  it('should differ only in what entities cannot say: oauth_states is UNLOGGED', async () => {
    const fromMigrations = await persistenceOf(migrated);
    expect(fromMigrations.oauth_states).toBe('u');
    expect(await persistenceOf(fromEntities)).toEqual({ ...fromMigrations, oauth_states: 'p' });
  });
});
