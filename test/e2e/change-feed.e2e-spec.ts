import { Logger } from '@nestjs/common';
import type { ConfigService } from '@nestjs/config';
import { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { getPGliteInstance } from 'typeorm-pglite';
import type { Configuration } from 'src/config/configuration';
import { Change, ChangeFeed, LISTENER_APPLICATION_NAME } from 'src/database/change-feed';
import { buildDataSourceOptions } from 'src/database/database.options';
import { createTestDatabase, TestDatabase } from 'test/support/test-database';

function feedFor(url: string | undefined): ChangeFeed {
  const config = { get: () => ({ url, pgliteDir: 'memory://' }) } as unknown as ConfigService<Configuration, true>;
  return new ChangeFeed(config);
}

/** Resolves with the first change of `topic` that `feed` hears, and how long it took from now. */
function nextChange(feed: ChangeFeed, topic: string): Promise<{ change: Change; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const stop = feed.subscribe(topic, (change) => {
      stop();
      resolve({ change, ms: Date.now() - started });
    });
  });
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) {
      throw new Error('timed out');
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

// The feed's warnings about lost connections are what these tests provoke.
Logger.overrideLogger(false);

describe('ChangeFeed on PostgreSQL (e2e)', () => {
  let db: TestDatabase;
  let pool: Pool;
  let feeds: ChangeFeed[];

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new Pool({ connectionString: db.url, max: 2 });
    // An idle connection ended from outside (a test of this file terminates backends) must not crash the run.
    pool.on('error', () => undefined);
  });

  beforeEach(async () => {
    feeds = [feedFor(db.url), feedFor(db.url)];
    await Promise.all(feeds.map((feed) => feed.onApplicationBootstrap()));
  });

  afterEach(async () => {
    await Promise.all(feeds.map((feed) => feed.onApplicationShutdown()));
  });

  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  const publish = (change: Change) => pool.query(...ChangeFeed.notifySql(change));

  it('should tell every listening instance of a change within a second', async () => {
    const heard = feeds.map((feed) => nextChange(feed, 'token'));
    await publish({ topic: 'token', key: 'wx1', detail: 'abc' });
    for (const { change, ms } of await Promise.all(heard)) {
      expect(change).toEqual({ topic: 'token', key: 'wx1', detail: 'abc' });
      expect(ms).toBeLessThan(1000);
    }
  });

  it('should deliver a change published in a transaction only once it commits, and none of a rolled-back one', async () => {
    const seen: string[] = [];
    feeds[0].subscribe('account', (change) => seen.push(change.key));
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(...ChangeFeed.notifySql({ topic: 'account', key: 'rolled-back' }));
      await client.query('ROLLBACK');
      await client.query('BEGIN');
      await client.query(...ChangeFeed.notifySql({ topic: 'account', key: 'committed' }));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(seen).toEqual([]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    await waitFor(() => seen.length > 0);
    expect(seen).toEqual(['committed']);
  });

  it('should only call the subscribers of the change’s topic, and survive a subscriber that throws', async () => {
    const tokens: string[] = [];
    feeds[0].subscribe('token', () => {
      throw new Error('subscriber bug');
    });
    feeds[0].subscribe('token', (change) => tokens.push(change.key));
    const accounts: string[] = [];
    feeds[0].subscribe('account', (change) => accounts.push(change.key));
    await publish({ topic: 'token', key: 'wx2' });
    await waitFor(() => tokens.length > 0);
    expect(tokens).toEqual(['wx2']);
    expect(accounts).toEqual([]);
  });

  it('should reconnect by itself after its connection is killed, resync, and hear changes again', async () => {
    const [feed] = feeds;
    let resyncs = 0;
    feed.onResync(() => (resyncs += 1));
    expect(feed.connected).toBe(true);
    const killed = await pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()
         AND application_name = $1`,
      [LISTENER_APPLICATION_NAME],
    );
    expect(killed.rowCount).toBe(2);
    await waitFor(() => !feed.connected || resyncs > 0);
    await waitFor(() => feed.connected);
    expect(resyncs).toBeGreaterThanOrEqual(1);
    const heard = nextChange(feed, 'token');
    await publish({ topic: 'token', key: 'after-reconnect' });
    expect((await heard).change.key).toBe('after-reconnect');
  });

  it('should keep trying while the database refuses it, and listen once it can', async () => {
    const late = `${db.name}_late`;
    const feed = feedFor(db.url.replace(db.name, late));
    await feed.onApplicationBootstrap();
    try {
      expect(feed.connected).toBe(false);
      await pool.query(`CREATE DATABASE ${late}`);
      await waitFor(() => feed.connected, 10_000);
    } finally {
      await feed.onApplicationShutdown();
      await pool.query(`DROP DATABASE IF EXISTS ${late} WITH (FORCE)`);
    }
  });
});

describe('ChangeFeed on the embedded database (e2e)', () => {
  let dataSource: DataSource;
  let feed: ChangeFeed;

  beforeAll(async () => {
    dataSource = await new DataSource(buildDataSourceOptions({ pgliteDir: 'memory://' })).initialize();
    feed = feedFor(undefined);
    await feed.onApplicationBootstrap();
  });

  afterAll(async () => {
    await feed.onApplicationShutdown();
    await dataSource.destroy();
  });

  it('should hear a change committed through the application’s own connection', async () => {
    expect(feed.connected).toBe(true);
    const heard = nextChange(feed, 'account');
    await dataSource.query(...ChangeFeed.notifySql({ topic: 'account', key: 'wxembedded' }));
    const { change, ms } = await heard;
    expect(change.key).toBe('wxembedded');
    expect(ms).toBeLessThan(1000);
    expect(await getPGliteInstance()).toBeDefined();
  });
});
