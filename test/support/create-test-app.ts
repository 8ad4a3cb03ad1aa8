import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { AppModule } from 'src/app.module';
import { configureApp, createHttpAdapter } from 'src/app.setup';
import { DEMO_APPS, FakeWeChat } from 'test/fake-wechat/fake-wechat.server';
import { createTestDatabase, TestDatabase } from 'test/support/test-database';

export const OA_APP = DEMO_APPS[0];
export const MP_APP = DEMO_APPS[1];
export const ADMIN_KEY = 'test-admin-key-0123456789';
export const TEST_DATA_KEY = Buffer.alloc(32, 7).toString('base64');

/** The whole AppModule with exactly main.ts's set-up (TW createApp), configured only by `env`. */
export async function createTestApp(env: Record<string, string | undefined>): Promise<NestFastifyApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [AppModule.forRoot({ env: { NODE_ENV: 'test', LOG_LEVEL: 'silent', ...env }, ignoreEnvFile: true })],
  }).compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(createHttpAdapter(), {
    bodyParser: false,
    bufferLogs: true,
  });
  await configureApp(app);
  await app.init();
  // supertest drives the bare node server: Fastify must have loaded its plugins and routes first.
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

/** The variables of a service wired to `fake` with both demo apps, an admin key and a data key. */
export function wiredEnv(fake: FakeWeChat, databaseUrl: string | undefined): Record<string, string | undefined> {
  return {
    DATABASE_URL: databaseUrl,
    PGLITE_DIR: databaseUrl ? undefined : 'memory://',
    WECHAT_API_BASE: fake.url,
    WECHAT_OPEN_BASE: fake.url,
    WECHAT_OA_APPID: OA_APP.appid,
    WECHAT_OA_SECRET: OA_APP.secret,
    WECHAT_MP_APPID: MP_APP.appid,
    WECHAT_MP_SECRET: MP_APP.secret,
    ADMIN_API_KEY: ADMIN_KEY,
    DATA_ENCRYPTION_KEY: TEST_DATA_KEY,
    WECHAT_HTTP_TIMEOUT_MS: '2000',
    // Suites make hundreds of logins a minute from 127.0.0.1; the rate limits have their own suite.
    RATE_LIMIT_PER_MINUTE: '0',
    // A spool of its own: another test's spooled deliveries must never be replayed into this test's database.
    WEBHOOK_SPOOL_DIR: join(tmpdir(), `webhook-spool-${randomUUID()}`),
  };
}

export interface Harness {
  fake: FakeWeChat;
  db: TestDatabase;
  app: NestFastifyApplication;
  env: Record<string, string | undefined>;
  /** Runs SQL on the test database, to arrange or inspect what the service stored. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Starts one more instance of the service on the same database and emulator. */
  startInstance(extra?: Record<string, string | undefined>): Promise<NestFastifyApplication>;
  close(): Promise<void>;
}

/** A fresh database, a started emulator and one service instance wired to both. */
export async function startHarness(extra: Record<string, string | undefined> = {}): Promise<Harness> {
  const fake = new FakeWeChat();
  await fake.start();
  const db = await createTestDatabase();
  const env = { ...wiredEnv(fake, db.url), ...extra };
  const instances: NestFastifyApplication[] = [];
  const startInstance = async (more: Record<string, string | undefined> = {}) => {
    const instance = await createTestApp({ ...env, ...more });
    instances.push(instance);
    return instance;
  };
  const app = await startInstance();
  const pool = new Pool({ connectionString: db.url, max: 2 });
  // Tests end connections on purpose (an outage, a killed listener): an idle one of this pool must not crash the run.
  pool.on('error', () => undefined);
  return {
    fake,
    db,
    app,
    env,
    query: async <T>(sql: string, params: unknown[] = []) => (await pool.query(sql, params)).rows as T[],
    startInstance,
    async close() {
      await pool.end();
      await Promise.all(instances.map((instance) => instance.close()));
      await fake.stop();
      await db.drop();
    },
  };
}
