import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { ADMIN_KEY, Harness, MP_APP, OA_APP, startHarness } from 'test/support/create-test-app';

const AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const NEW_AES_KEY = 'ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut';

const brand = {
  kind: 'official_account',
  appid: 'wxbrand00000000001',
  secret: 'brand-secret-0001',
  name: '华东门店',
  token: 'brandToken1',
  aesKey: AES_KEY,
  welcomeText: '欢迎来到华东门店',
};

const shop = { kind: 'mini_program', appid: 'wxshop000000000001', secret: 'shop-secret-0001', name: '商城' };

describe('Accounts admin API (e2e)', () => {
  let h: Harness;
  let second: NestFastifyApplication;

  beforeAll(async () => {
    h = await startHarness({ PUBLIC_BASE_URL: 'https://wx.example.com' });
    second = await h.startInstance();
  });

  afterAll(async () => {
    await h.close();
  });

  const admin = (app: NestFastifyApplication = h.app) => ({
    post: (path: string, body: object) =>
      request(app.getHttpServer()).post(path).set('X-Admin-Key', ADMIN_KEY).send(body),
    patch: (path: string, body: object) =>
      request(app.getHttpServer()).patch(path).set('X-Admin-Key', ADMIN_KEY).send(body),
    get: (path: string) => request(app.getHttpServer()).get(path).set('X-Admin-Key', ADMIN_KEY),
    delete: (path: string) => request(app.getHttpServer()).delete(path).set('X-Admin-Key', ADMIN_KEY),
  });

  /** Polls `path` on `app` until it answers `status`; resolves with the milliseconds it took. */
  async function until(app: NestFastifyApplication, path: string, status: number, timeoutMs = 3000): Promise<number> {
    const started = Date.now();
    for (;;) {
      const res = await admin(app).get(path);
      if (res.status === status) {
        return Date.now() - started;
      }
      if (Date.now() - started > timeoutMs) {
        throw new Error(`${path} still answers ${res.status}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  it('should refuse the admin routes without the admin key', async () => {
    await request(h.app.getHttpServer()).get('/admin/accounts').expect(401);
    await request(h.app.getHttpServer()).post('/admin/accounts').send(brand).expect(401);
  });

  it('should list the env accounts, read-only', async () => {
    const res = await admin().get('/admin/accounts').expect(200);
    expect(res.body).toEqual([
      expect.objectContaining({ appid: OA_APP.appid, kind: 'official_account', source: 'env', encrypted: false }),
      expect.objectContaining({ appid: MP_APP.appid, kind: 'mini_program', source: 'env' }),
    ]);
    expect(res.body[0].webhookUrl).toBe(`https://wx.example.com/wechat/webhook/${OA_APP.appid}`);
    const patch = await admin().patch(`/admin/accounts/${OA_APP.appid}`, { name: 'x' }).expect(409);
    expect(patch.body).toEqual({ statusCode: 409, error: 'managed_by_env', message: expect.any(String) });
    await admin().delete(`/admin/accounts/${MP_APP.appid}`).expect(409);
    const taken = await admin()
      .post('/admin/accounts', { ...brand, appid: OA_APP.appid })
      .expect(409);
    expect(taken.body.error).toBe('conflict');
  });

  it('should create an official account, show it without its secrets, and serve it on another instance within 1 s', async () => {
    const created = await admin().post('/admin/accounts', brand).expect(201);
    expect(created.body).toEqual({
      appid: brand.appid,
      kind: 'official_account',
      name: '华东门店',
      source: 'api',
      encrypted: true,
      forwardUrl: null,
      webhookUrl: `https://wx.example.com/wechat/webhook/${brand.appid}`,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    const text = JSON.stringify(created.body);
    for (const secret of [brand.secret, brand.token, brand.aesKey]) {
      expect(text).not.toContain(secret);
    }
    expect(await until(second, `/admin/accounts/${brand.appid}`, 200)).toBeLessThan(1000);
    const [row] = await h.query<Record<string, string>>(
      `SELECT secret_sealed, token_sealed, aes_key_sealed FROM wechat_accounts WHERE appid = $1`,
      [brand.appid],
    );
    const stored = JSON.stringify(row);
    for (const secret of [brand.secret, brand.token, brand.aesKey]) {
      expect(stored).not.toContain(secret);
    }
    expect(row.secret_sealed).toMatch(/^v1\./);
    const again = await admin().post('/admin/accounts', brand).expect(409);
    expect(again.body).toEqual({ statusCode: 409, error: 'conflict', message: expect.stringContaining(brand.appid) });
  });

  it.each([
    [{ ...brand, appid: 'brand-1' }, 'appid'],
    [{ ...brand, kind: 'shop' }, 'kind'],
    [{ ...brand, secret: '' }, 'secret'],
    [{ ...brand, appid: 'wxbrand00000000009', token: undefined }, 'token'],
    [{ ...brand, appid: 'wxbrand00000000009', token: 'a b' }, 'token'],
    [{ ...brand, appid: 'wxbrand00000000009', aesKey: 'short' }, 'aesKey'],
    [{ ...brand, appid: 'wxbrand00000000009', domainVerify: '../etc' }, 'domainVerify'],
    [{ ...brand, appid: 'wxbrand00000000009', forwardUrl: 'ftp://backend' }, 'forwardUrl'],
    [{ ...shop, appid: 'wxshop000000000009', token: 'shopToken1' }, 'token'],
    [{ ...shop, appid: 'wxshop000000000009', welcomeText: 'hi' }, 'welcomeText'],
  ])('should refuse a bad account (%j) with a 400 naming %s, and store nothing', async (body, field) => {
    const res = await admin().post('/admin/accounts', body).expect(400);
    expect(res.body).toEqual({ statusCode: 400, error: 'bad_request', message: expect.stringContaining(field) });
    const rows = await h.query(`SELECT appid FROM wechat_accounts WHERE appid LIKE '%9'`);
    expect(rows).toEqual([]);
  });

  it('should create a mini-program and list it after the env accounts', async () => {
    const created = await admin().post('/admin/accounts', shop).expect(201);
    expect(created.body).toMatchObject({ appid: shop.appid, kind: 'mini_program', encrypted: false, source: 'api' });
    expect(created.body.webhookUrl).toBeUndefined();
    const list = await admin().get('/admin/accounts').expect(200);
    expect(list.body.map((account: { appid: string }) => account.appid)).toEqual([
      OA_APP.appid,
      MP_APP.appid,
      brand.appid,
      shop.appid,
    ]);
  });

  it('should change an account, refuse kind and appid, and keep a replaced EncodingAESKey for 24 hours', async () => {
    const before = (await admin().get(`/admin/accounts/${brand.appid}`).expect(200)).body;
    const changed = await admin()
      .patch(`/admin/accounts/${brand.appid}`, { name: '华东', aesKey: NEW_AES_KEY })
      .expect(200);
    expect(changed.body).toMatchObject({ name: '华东', encrypted: true, createdAt: before.createdAt });
    expect(Date.parse(changed.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(before.updatedAt));
    const [row] = await h.query<{ hours: number }>(
      `SELECT extract(epoch FROM previous_aes_key_until - now()) / 3600 AS hours FROM wechat_accounts WHERE appid = $1`,
      [brand.appid],
    );
    expect(Number(row.hours)).toBeGreaterThan(23.9);
    expect(Number(row.hours)).toBeLessThanOrEqual(24);
    for (const [body, field] of [
      [{ kind: 'mini_program' }, 'kind'],
      [{ appid: 'wxother0000000001' }, 'appid'],
      [{ token: 'x' }, 'token'],
      [{ secret: null }, 'secret'],
    ] as const) {
      const res = await admin().patch(`/admin/accounts/${brand.appid}`, body).expect(400);
      expect(res.body.message).toContain(field);
    }
    const refused = await admin().patch(`/admin/accounts/${shop.appid}`, { aesKey: AES_KEY }).expect(400);
    expect(refused.body.message).toContain('aesKey');
    await admin().patch('/admin/accounts/wxnosuchaccount01', { name: 'x' }).expect(404);
    const cleared = await admin().patch(`/admin/accounts/${brand.appid}`, { name: null }).expect(200);
    expect(cleared.body.name).toBeNull();
  });

  it('should delete an account with its tokens and rules, keep its users, and forget it on every instance', async () => {
    await h.query(
      `INSERT INTO access_tokens (appid, access_token_sealed, token_hash, expires_at, refresh_at)
       VALUES ($1, 'v1.x.y.z', 'hash', now() + interval '1 hour', now() + interval '55 minutes')`,
      [shop.appid],
    );
    await h.query(
      `INSERT INTO wechat_auto_reply_rules (appid, match_kind, keyword, reply) VALUES ($1, 'exact', 'hi', '{}')`,
      [brand.appid],
    );
    const [user] = await h.query<{ id: string }>(`INSERT INTO users DEFAULT VALUES RETURNING id`);
    await h.query(
      `INSERT INTO wechat_identities (user_id, appid, openid, source) VALUES ($1, $2, 'o-shop-1', 'mini_program')`,
      [user.id, shop.appid],
    );
    await admin().delete(`/admin/accounts/${shop.appid}`).expect(204);
    await admin().delete(`/admin/accounts/${brand.appid}`).expect(204);
    await admin().get(`/admin/accounts/${shop.appid}`).expect(404);
    expect(await until(second, `/admin/accounts/${brand.appid}`, 404)).toBeLessThan(1000);
    expect(await h.query(`SELECT appid FROM access_tokens WHERE appid = $1`, [shop.appid])).toEqual([]);
    expect(await h.query(`SELECT id FROM wechat_auto_reply_rules WHERE appid = $1`, [brand.appid])).toEqual([]);
    expect(await h.query(`SELECT id FROM wechat_identities WHERE appid = $1`, [shop.appid])).toHaveLength(1);
    await admin().delete(`/admin/accounts/${shop.appid}`).expect(404);
  });

  it('should load the API accounts when an instance starts', async () => {
    await admin()
      .post('/admin/accounts', { ...shop, appid: 'wxshop000000000002' })
      .expect(201);
    const third = await h.startInstance();
    await admin(third).get('/admin/accounts/wxshop000000000002').expect(200);
  });
});
