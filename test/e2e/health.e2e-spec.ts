import { Client } from 'pg';
import request from 'supertest';
import { prepareLoginCode } from 'test/fake-wechat/routes/mini-program.routes';
import { FakeWeChat } from 'test/fake-wechat/fake-wechat.server';
import { adminDatabaseUrl, createTestDatabase } from 'test/support/test-database';
import { ADMIN_KEY, createTestApp, Harness, OA_APP, startHarness, wiredEnv } from 'test/support/create-test-app';

describe('Operations (e2e)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });

  afterAll(async () => {
    await h.close();
  });

  it('should report healthy with the database up', async () => {
    await request(h.app.getHttpServer()).get('/health').expect(200, { status: 'ok', db: 'up' });
  });

  it('should serve the OpenAPI page and a document listing every route', async () => {
    const page = await request(h.app.getHttpServer()).get('/docs').expect(200);
    expect(page.text).toContain('swagger');
    const { body } = await request(h.app.getHttpServer()).get('/docs/json').expect(200);
    for (const [path, method] of [
      ['/health', 'get'],
      ['/api/me', 'get'],
      ['/api/logout', 'post'],
      ['/miniprogram/login', 'post'],
      ['/miniprogram/phone', 'post'],
      ['/miniprogram/profile', 'post'],
      ['/admin/token', 'get'],
      ['/admin/token/refresh', 'post'],
    ]) {
      expect(body.paths[path]?.[method]).toBeDefined();
    }
    expect(body.components.schemas.LoginDto.properties.code).toBeDefined();
    expect(body.components.schemas.LoginResponseDto.properties.token).toBeDefined();
  });

  it('should answer unknown routes, malformed JSON and oversized bodies with JSON errors', async () => {
    const missing = await request(h.app.getHttpServer()).get('/no/such/route').expect(404);
    expect(missing.body).toEqual({ statusCode: 404, error: 'not_found', message: expect.any(String) });
    const malformed = await request(h.app.getHttpServer())
      .post('/miniprogram/login')
      .set('content-type', 'application/json')
      .send('{"code": ')
      .expect(400);
    expect(malformed.body).toEqual({ statusCode: 400, error: 'bad_request', message: expect.any(String) });
    expect(JSON.stringify(malformed.body)).not.toMatch(/\bat \w+ \(/);
    const huge = await request(h.app.getHttpServer())
      .post('/miniprogram/login')
      .send({ code: 'x'.repeat(70 * 1024) })
      .expect(413);
    expect(huge.body).toEqual({ statusCode: 413, error: 'payload_too_large', message: expect.any(String) });
  });

  it('should answer 503 on /health and JSON 503s elsewhere when the database goes away', async () => {
    const doomed = await h.startInstance({ DATABASE_URL: h.env.DATABASE_URL });
    const login = await request(doomed.getHttpServer())
      .post('/miniprogram/login')
      .send({ code: prepareLoginCode(h.fake) })
      .expect(200);
    // Cut every connection of the instance's pool, as a database restart or a network cut would.
    const admin = new Client({ connectionString: adminDatabaseUrl() });
    await admin.connect();
    try {
      await admin.query(`ALTER DATABASE ${h.db.name} WITH ALLOW_CONNECTIONS false`);
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, [h.db.name]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const health = await request(doomed.getHttpServer()).get('/health').expect(503);
      expect(health.body).toMatchObject({ status: 'error', db: 'down' });
      const me = await request(doomed.getHttpServer())
        .get('/api/me')
        .set('Authorization', `Bearer ${login.body.token}`);
      expect(me.status).toBe(503);
      expect(me.body).toEqual({ statusCode: 503, error: 'database_unavailable', message: expect.any(String) });
      const token = await request(doomed.getHttpServer())
        .get('/admin/token')
        .query({ appid: OA_APP.appid })
        .set('X-Admin-Key', ADMIN_KEY);
      expect(token.status).toBe(503);
      expect(JSON.stringify(token.body)).not.toMatch(/\bat \w+ \(|ECONNREFUSED|password/);
    } finally {
      await admin.query(`ALTER DATABASE ${h.db.name} WITH ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    // When the database is back, the same instance recovers without a restart.
    await request(doomed.getHttpServer()).get('/health').expect(200);
    await request(doomed.getHttpServer()).get('/api/me').set('Authorization', `Bearer ${login.body.token}`).expect(200);
    await doomed.close();
  });
});

describe('Migrations (e2e)', () => {
  it('should let three instances start together on an empty database', async () => {
    const fake = new FakeWeChat();
    await fake.start();
    const db = await createTestDatabase();
    try {
      const env = wiredEnv(fake, db.url);
      const apps = await Promise.all([createTestApp(env), createTestApp(env), createTestApp(env)]);
      for (const app of apps) {
        await request(app.getHttpServer()).get('/health').expect(200);
      }
      await Promise.all(apps.map((app) => app.close()));
    } finally {
      await fake.stop();
      await db.drop();
    }
  });
});
