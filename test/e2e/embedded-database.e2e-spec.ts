import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { FakeWeChat } from 'test/fake-wechat/fake-wechat.server';
import { prepareLoginCode } from 'test/fake-wechat/routes/mini-program.routes';
import { ADMIN_KEY, createTestApp, OA_APP, wiredEnv } from 'test/support/create-test-app';

/** The newcomer's default: no DATABASE_URL, the embedded PostgreSQL (PGlite) in PGLITE_DIR. */
describe('Embedded database (e2e)', () => {
  let fake: FakeWeChat;
  let dataDir: string;
  let env: Record<string, string | undefined>;

  beforeAll(async () => {
    fake = new FakeWeChat();
    await fake.start();
    dataDir = mkdtempSync(join(tmpdir(), 'wx-pglite-'));
    env = { ...wiredEnv(fake, undefined), PGLITE_DIR: dataDir };
  });

  afterAll(async () => {
    await fake.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('should serve health, logins and tokens, and keep users, sessions and tokens across a restart', async () => {
    const first = await createTestApp(env);
    let token: string;
    let userId: string;
    let accessToken: string;
    try {
      await request(first.getHttpServer()).get('/health').expect(200, { status: 'ok', db: 'up' });
      const login = await request(first.getHttpServer())
        .post('/miniprogram/login')
        .send({ code: prepareLoginCode(fake, { openid: 'o-embedded' }) })
        .expect(200);
      ({ token } = login.body);
      userId = login.body.user.id;
      const admin = await request(first.getHttpServer())
        .get('/admin/token')
        .query({ appid: OA_APP.appid })
        .set('X-Admin-Key', ADMIN_KEY)
        .expect(200);
      accessToken = admin.body.accessToken;
    } finally {
      await first.close();
    }

    const second = await createTestApp(env);
    try {
      const me = await request(second.getHttpServer())
        .get('/api/me')
        .set('Authorization', `Bearer ${token}`)
        .expect(200);
      expect(me.body.id).toBe(userId);
      const again = await request(second.getHttpServer())
        .post('/miniprogram/login')
        .send({ code: prepareLoginCode(fake, { openid: 'o-embedded' }) })
        .expect(200);
      expect(again.body.user).toMatchObject({ id: userId, isNew: false });
      const admin = await request(second.getHttpServer())
        .get('/admin/token')
        .query({ appid: OA_APP.appid })
        .set('X-Admin-Key', ADMIN_KEY)
        .expect(200);
      expect(admin.body.accessToken).toBe(accessToken);
      expect(fake.callCount('/cgi-bin/stable_token')).toBe(1);
    } finally {
      await second.close();
    }
  });

  it('should make one user out of 20 concurrent first logins on the embedded database too', async () => {
    const app = await createTestApp({ ...env, PGLITE_DIR: 'memory://' });
    try {
      const codes = Array.from({ length: 20 }, () => prepareLoginCode(fake, { openid: 'o-embedded-race' }));
      const results = await Promise.all(
        codes.map((code) => request(app.getHttpServer()).post('/miniprogram/login').send({ code })),
      );
      expect(results.map((res) => res.status)).toEqual(Array(20).fill(200));
      expect(new Set(results.map((res) => res.body.user.id)).size).toBe(1);
      expect(results.filter((res) => res.body.user.isNew)).toHaveLength(1);
    } finally {
      await app.close();
    }
  });
});
