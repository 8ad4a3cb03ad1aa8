import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { prepareLoginCode, preparePhoneCode } from 'test/fake-wechat/routes/mini-program.routes';
import { FakeOAuthUser, setAuthorizeMode, setOAuthUser } from 'test/fake-wechat/routes/oauth.routes';
import { ADMIN_KEY, Harness, MP_APP, OA_APP, startHarness } from 'test/support/create-test-app';

/** An official account and a mini-program added through the admin API, each with its own secret. */
const BRAND = {
  kind: 'official_account',
  appid: 'wxbrandoauth00a01',
  secret: 'brand-oauth-secret',
  token: 'brandTok1',
};
const SHOP = { kind: 'mini_program', appid: 'wxshopmini000b02', secret: 'shop-mini-secret' };

describe('Logins by account (e2e)', () => {
  let h: Harness;
  let second: NestFastifyApplication;

  beforeAll(async () => {
    h = await startHarness();
    for (const account of [BRAND, SHOP]) {
      h.fake.addApp({ appid: account.appid, secret: account.secret, kind: account.kind as 'official_account' });
      await request(h.app.getHttpServer())
        .post('/admin/accounts')
        .set('X-Admin-Key', ADMIN_KEY)
        .send(account)
        .expect(201);
    }
    second = await h.startInstance();
  });

  afterAll(async () => {
    await h.close();
  });

  beforeEach(() => {
    h.fake.clearFaults();
    h.fake.resetCalls();
    setAuthorizeMode(h.fake, 'approve');
  });

  const server = (app: NestFastifyApplication = h.app) => app.getHttpServer();
  const cookiePair = (setCookie: unknown, name: string): string =>
    ((setCookie as string[] | undefined) ?? []).find((line) => line.startsWith(`${name}=`))?.split(';')[0] ?? '';
  const me = (token: string) => request(server()).get('/api/me').set('Authorization', `Bearer ${token}`);
  const sessionAppid = async (token: string) =>
    (
      await h.query<{ appid: string | null }>(
        `SELECT appid FROM sessions WHERE token_hash = encode(sha256(convert_to($1, 'UTF8')), 'hex')`,
        [token],
      )
    )[0]?.appid;

  /** authorize on `start` → WeChat (automatic 允许) → callback on `finish`; the new sid, or the failed answer. */
  async function webLogin(
    query: Record<string, string>,
    user: Partial<FakeOAuthUser> = {},
    start: NestFastifyApplication = h.app,
    finish: NestFastifyApplication = h.app,
  ) {
    setOAuthUser(h.fake, user);
    const authorize = await request(server(start)).get('/oauth/authorize').query(query).expect(302);
    const location = new URL(authorize.headers.location as string);
    const back = await fetch(location, { redirect: 'manual' });
    const callback = new URL(back.headers.get('location') ?? '');
    const res = await request(server(finish))
      .get(`${callback.pathname}${callback.search}`)
      .set('Cookie', cookiePair(authorize.headers['set-cookie'], 'wx_oauth'));
    return { location, res, sid: cookiePair(res.headers['set-cookie'], 'sid').replace(/^sid=/, '') };
  }

  const miniProgramLogin = (body: Record<string, unknown>, app: NestFastifyApplication = h.app) =>
    request(server(app)).post('/miniprogram/login').send(body);

  describe('OAuth ?appid=', () => {
    it("should authorize with an API official account's appid, remember it in the state, and finish on another instance with its secret", async () => {
      const { location, res, sid } = await webLogin({ appid: BRAND.appid }, { openid: 'o-brand-web' }, h.app, second);
      expect(location.searchParams.get('appid')).toBe(BRAND.appid);
      expect(res.status).toBe(302);
      const exchange = h.fake.callsTo('/sns/oauth2/access_token');
      expect(exchange).toHaveLength(1);
      expect(exchange[0].query).toMatchObject({ appid: BRAND.appid, secret: BRAND.secret });
      expect((await me(sid).expect(200)).body.identities).toEqual([
        { appid: BRAND.appid, openid: 'o-brand-web', source: 'official_account', subscribed: null },
      ]);
      expect(await sessionAppid(sid)).toBe(BRAND.appid);
    });

    it('should keep the default official account when appid is left out, and record a null appid in the state', async () => {
      const authorize = await request(server()).get('/oauth/authorize').expect(302);
      expect(new URL(authorize.headers.location as string).searchParams.get('appid')).toBe(OA_APP.appid);
      const rows = await h.query<{ appid: string | null }>(
        'SELECT appid FROM oauth_states ORDER BY created_at DESC LIMIT 1',
      );
      expect(rows).toEqual([{ appid: null }]);
    });

    it('should answer 404 for an appid that is no official account here, a page for browsers and JSON otherwise', async () => {
      const before = await h.query('SELECT id FROM oauth_states');
      for (const appid of ['wxunknown00000001', SHOP.appid, MP_APP.appid]) {
        const json = await request(server()).get('/oauth/authorize').query({ appid }).expect(404);
        expect(json.body).toEqual({ statusCode: 404, error: 'not_found', message: expect.stringContaining(appid) });
        const page = await request(server()).get('/oauth/authorize').query({ appid }).set('Accept', 'text/html');
        expect(page.status).toBe(404);
        expect(page.text).toContain('公众号不存在');
      }
      const malformed = await request(server()).get('/oauth/authorize?appid=brand').expect(400);
      expect(malformed.body.message).toContain('appid');
      expect(await h.query('SELECT id FROM oauth_states')).toHaveLength(before.length);
    });

    it('should refresh the profile with the account of the latest authorization', async () => {
      const envLogin = await webLogin({}, { openid: 'o-sync-env', unionid: 'u-sync' });
      const brandLogin = await webLogin({ appid: BRAND.appid }, { openid: 'o-sync-brand', unionid: 'u-sync' });
      const userId = (await me(brandLogin.sid).expect(200)).body.id;
      expect((await me(envLogin.sid).expect(200)).body.id).toBe(userId);
      h.fake.resetCalls();
      await request(server()).post('/api/me/sync').set('Cookie', `sid=${envLogin.sid}`).expect(200);
      const refresh = h.fake.callsTo('/sns/oauth2/refresh_token');
      expect(refresh).toHaveLength(1);
      expect(refresh[0].query.appid).toBe(BRAND.appid);
    });
  });

  describe('mini-program appid', () => {
    it('should log in through each mini-program with its own secret, and remember it on the session', async () => {
      const shop = await miniProgramLogin({
        code: prepareLoginCode(h.fake, { appid: SHOP.appid, openid: 'o-shop' }),
        appid: SHOP.appid,
      }).expect(200);
      const env = await miniProgramLogin({ code: prepareLoginCode(h.fake, { appid: MP_APP.appid }) }).expect(200);
      const calls = h.fake.callsTo('/sns/jscode2session').map((call) => [call.query.appid, call.query.secret]);
      expect(calls).toEqual([
        [SHOP.appid, SHOP.secret],
        [MP_APP.appid, MP_APP.secret],
      ]);
      expect((await me(shop.body.token).expect(200)).body.identities).toEqual([
        { appid: SHOP.appid, openid: 'o-shop', source: 'mini_program', subscribed: null },
      ]);
      expect(await sessionAppid(shop.body.token)).toBe(SHOP.appid);
      expect(await sessionAppid(env.body.token)).toBe(MP_APP.appid);
    });

    it("should refuse a code of one mini-program sent for another (WeChat's 40029)", async () => {
      const res = await miniProgramLogin({ code: prepareLoginCode(h.fake, { appid: SHOP.appid }) }).expect(401);
      expect(res.body.error).toBe('invalid_code');
    });

    it('should answer 404 for an appid that is no mini-program here and 400 for a malformed one', async () => {
      for (const appid of ['wxunknown00000001', BRAND.appid, OA_APP.appid]) {
        const res = await miniProgramLogin({ code: 'any-code', appid }).expect(404);
        expect(res.body).toEqual({ statusCode: 404, error: 'not_found', message: expect.stringContaining(appid) });
      }
      for (const appid of ['shop', 42, ['wxshopmini000b02']]) {
        const res = await miniProgramLogin({ code: 'any-code', appid }).expect(400);
        expect(res.body.message).toContain('appid');
      }
      expect(h.fake.callCount('/sns/jscode2session')).toBe(0);
    });

    it('should join identities of every account with one unionid into one user', async () => {
      const shop = await miniProgramLogin({
        code: prepareLoginCode(h.fake, { appid: SHOP.appid, unionid: 'u-everywhere' }),
        appid: SHOP.appid,
      }).expect(200);
      const env = await miniProgramLogin({ code: prepareLoginCode(h.fake, { unionid: 'u-everywhere' }) }).expect(200);
      const web = await webLogin({ appid: BRAND.appid }, { unionid: 'u-everywhere' }, second, second);
      expect(env.body.user).toMatchObject({ id: shop.body.user.id, isNew: false });
      const view = (await me(web.sid).expect(200)).body;
      expect(view.id).toBe(shop.body.user.id);
      expect(view.identities.map((identity: { appid: string }) => identity.appid)).toEqual([
        SHOP.appid,
        MP_APP.appid,
        BRAND.appid,
      ]);
    });

    describe('phone', () => {
      const phone = (token: string) =>
        request(server())
          .post('/miniprogram/phone')
          .set('Authorization', `Bearer ${token}`)
          .send({ code: preparePhoneCode(h.fake, '13700137000') });
      const tokenOf = async (appid: string) =>
        (await request(server()).get('/admin/token').query({ appid }).set('X-Admin-Key', ADMIN_KEY).expect(200)).body
          .accessToken as string;

      it("should ask for the phone number with the access token of the session's own mini-program", async () => {
        const shop = await miniProgramLogin({
          code: prepareLoginCode(h.fake, { appid: SHOP.appid }),
          appid: SHOP.appid,
        }).expect(200);
        const res = await phone(shop.body.token).expect(200);
        expect(res.body.phoneNumber).toBe('13700137000');
        const asked = h.fake.callsTo('/wxa/business/getuserphonenumber');
        expect(asked).toHaveLength(1);
        expect(asked[0].query.access_token).toBe(await tokenOf(SHOP.appid));
        expect(asked[0].query.access_token).not.toBe(await tokenOf(MP_APP.appid));
        expect((await me(shop.body.token)).body.phone).toBe('13700137000');
      });

      it('should use the default mini-program for a session of an official-account login or from before', async () => {
        const web = await webLogin({ appid: BRAND.appid }, { openid: 'o-web-phone' });
        const old = await miniProgramLogin({
          code: prepareLoginCode(h.fake, { appid: SHOP.appid }),
          appid: SHOP.appid,
        }).expect(200);
        await h.query(
          `UPDATE sessions SET appid = NULL WHERE token_hash = encode(sha256(convert_to($1, 'UTF8')), 'hex')`,
          [old.body.token],
        );
        await phone(web.sid).expect(200);
        await phone(old.body.token).expect(200);
        const defaultToken = await tokenOf(MP_APP.appid);
        expect(h.fake.callsTo('/wxa/business/getuserphonenumber').map((call) => call.query.access_token)).toEqual([
          defaultToken,
          defaultToken,
        ]);
      });
    });
  });
});
