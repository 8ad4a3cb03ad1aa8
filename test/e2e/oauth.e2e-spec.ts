import { createHash } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { Sql } from 'src/database/sql';
import { prepareLoginCode } from 'test/fake-wechat/routes/mini-program.routes';
import {
  FakeOAuthUser,
  issuedRefreshTokens,
  setAuthorizeMode,
  setOAuthUser,
  updateOAuthProfile,
} from 'test/fake-wechat/routes/oauth.routes';
import { Harness, OA_APP, startHarness } from 'test/support/create-test-app';

const PUBLIC_BASE_URL = 'http://wx.example.test';
const DAY_MS = 24 * 3600_000;

describe('OAuthModule (e2e)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ PUBLIC_BASE_URL });
  });

  afterAll(async () => {
    await h.close();
  });

  beforeEach(() => {
    h.fake.clearFaults();
    h.fake.resetCalls();
    h.fake.clockOffsetMs = 0;
    setAuthorizeMode(h.fake, 'approve');
  });

  const server = (app: NestFastifyApplication = h.app) => app.getHttpServer();
  const count = async (sql: string, params: unknown[] = []) => Number((await h.query(sql, params))[0].count);
  const users = () => count('SELECT count(*) FROM users');

  const cookieFrom = (setCookie: string[] | undefined, name: string): string | undefined =>
    (setCookie ?? []).find((line) => line.startsWith(`${name}=`));
  const cookiePair = (line: string | undefined) => line?.split(';')[0] ?? '';

  interface Started {
    location: string;
    state: string;
    /** `wx_oauth=…`: the browser-binding cookie. */
    browser: string;
    setCookie: string;
  }

  /** The browser opens /oauth/authorize. */
  async function startLogin(
    query: Record<string, string> = {},
    cookies: string[] = [],
    app?: NestFastifyApplication,
  ): Promise<Started> {
    const res = await request(server(app)).get('/oauth/authorize').query(query).set('Cookie', cookies).expect(302);
    const setCookie = cookieFrom(res.headers['set-cookie'] as unknown as string[], 'wx_oauth');
    expect(setCookie).toBeDefined();
    const location = res.headers.location as string;
    return {
      location,
      state: new URL(location).searchParams.get('state') ?? '',
      browser: cookiePair(setCookie),
      setCookie: setCookie ?? '',
    };
  }

  /** WeChat's authorize URL answers (the emulator in automatic mode): the path and query it sends the browser back to. */
  async function wechatAnswers(location: string): Promise<string> {
    const res = await fetch(location, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const back = new URL(res.headers.get('location') ?? '');
    return `${back.pathname}${back.search}`;
  }

  interface LoggedIn {
    status: number;
    location?: string;
    sid: string;
    sidCookie?: string;
    text: string;
    callbackPath: string;
    started: Started;
    user: FakeOAuthUser;
  }

  /** The whole flow: authorize → WeChat (automatic 允许) → callback. */
  async function login(
    options: {
      user?: Partial<FakeOAuthUser>;
      query?: Record<string, string>;
      cookies?: string[];
      accept?: string;
      app?: NestFastifyApplication;
    } = {},
  ): Promise<LoggedIn> {
    const user = setOAuthUser(h.fake, options.user ?? {});
    const started = await startLogin(options.query, options.cookies, options.app);
    const callbackPath = await wechatAnswers(started.location);
    const res = await request(server(options.app))
      .get(callbackPath)
      .set('Cookie', [started.browser, ...(options.cookies ?? [])])
      .set('Accept', options.accept ?? 'text/html,application/xhtml+xml');
    const sidCookie = cookieFrom(res.headers['set-cookie'] as unknown as string[], 'sid');
    return {
      status: res.status,
      location: res.headers.location as string | undefined,
      sid: cookiePair(sidCookie).replace(/^sid=/, ''),
      sidCookie,
      text: res.text,
      callbackPath,
      started,
      user,
    };
  }

  const me = (sid: string) => request(server()).get('/api/me').set('Cookie', `sid=${sid}`);

  describe('GET /oauth/authorize', () => {
    it("should 302 to WeChat's authorize URL with the parameters in order and #wechat_redirect", async () => {
      const { location, state } = await startLogin();
      expect(location).toBe(
        `${h.fake.url}/connect/oauth2/authorize?appid=${OA_APP.appid}` +
          `&redirect_uri=http%3A%2F%2Fwx.example.test%2Foauth%2Fcallback&response_type=code&scope=snsapi_userinfo` +
          `&state=${state}#wechat_redirect`,
      );
      expect(state).toMatch(/^[0-9a-f]{48}$/);
    });

    it('should use the scope asked for', async () => {
      const { location } = await startLogin({ scope: 'snsapi_base' });
      expect(new URL(location).searchParams.get('scope')).toBe('snsapi_base');
    });

    it('should answer 400 for an unknown scope and record no state', async () => {
      const before = await count('SELECT count(*) FROM oauth_states');
      const res = await request(server()).get('/oauth/authorize?scope=snsapi_login').expect(400);
      expect(res.body).toEqual({ statusCode: 400, error: 'bad_request', message: expect.stringContaining('scope') });
      expect(await count('SELECT count(*) FROM oauth_states')).toBe(before);
    });

    it('should bind the state to the browser with an HttpOnly, SameSite=Lax cookie and keep only hashes', async () => {
      const { setCookie, state, browser } = await startLogin();
      expect(setCookie).toMatch(/HttpOnly/);
      expect(setCookie).toMatch(/SameSite=Lax/);
      expect(setCookie).toMatch(/Path=\/oauth/);
      expect(setCookie).toMatch(/Max-Age=600/);
      expect(setCookie).not.toMatch(/Secure/);
      const rows = await h.query('SELECT state_hash, browser_hash, expires_at - created_at AS ttl FROM oauth_states');
      const texts = JSON.stringify(rows);
      expect(texts).not.toContain(state);
      expect(texts).not.toContain(browser.replace('wx_oauth=', ''));
    });

    it('should give each authorization its own state', async () => {
      const first = await startLogin();
      const second = await startLogin({}, [first.browser]);
      expect(second.state).not.toBe(first.state);
      expect(second.browser).toBe(first.browser);
    });
  });

  describe('GET /oauth/callback', () => {
    it('should log a new user in: sid cookie, 302 to returnTo, profile and /api/me', async () => {
      const before = await users();
      const result = await login({
        user: { nickname: '张三', unionid: undefined, city: '广州' },
        query: { returnTo: '/orders?tab=paid' },
      });
      expect(result.status).toBe(302);
      expect(result.location).toBe('/orders?tab=paid');
      expect(result.sidCookie).toMatch(/HttpOnly/);
      expect(result.sidCookie).toMatch(/SameSite=Lax/);
      expect(result.sidCookie).toMatch(/Path=\/(;|$)/);
      expect(result.sidCookie).toMatch(/Max-Age=2592000/);
      expect(result.sidCookie).not.toMatch(/Secure/);
      expect(await users()).toBe(before + 1);
      const profile = await me(result.sid).expect(200);
      expect(profile.body).toEqual({
        id: expect.any(String),
        nickname: '张三',
        avatarUrl: expect.stringContaining('/mmopen/'),
        unionid: null,
        phone: null,
        countryCode: null,
        identities: [{ appid: OA_APP.appid, openid: result.user.openid, source: 'official_account', subscribed: null }],
      });
      const rows = await h.query('SELECT profile FROM wechat_identities WHERE openid = $1', [result.user.openid]);
      expect(rows[0].profile).toEqual({
        nickname: '张三',
        sex: 1,
        province: '广东',
        city: '广州',
        country: '中国',
        headimgurl: expect.stringContaining('/mmopen/'),
        privilege: [],
      });
    });

    it('should keep the refresh_token sealed and never show it in an answer', async () => {
      const result = await login();
      const [refreshToken] = issuedRefreshTokens(h.fake, result.user.openid);
      expect(refreshToken).toBeDefined();
      const rows = await h.query<{ refresh_token_sealed: string; refresh_token_expires_at: Date }>(
        'SELECT refresh_token_sealed, refresh_token_expires_at FROM wechat_identities WHERE openid = $1',
        [result.user.openid],
      );
      expect(rows[0].refresh_token_sealed).toMatch(/^v1\./);
      expect(rows[0].refresh_token_sealed).not.toContain(refreshToken);
      const expiresIn = new Date(rows[0].refresh_token_expires_at).getTime() - Date.now();
      expect(expiresIn).toBeGreaterThan(29 * DAY_MS);
      expect(expiresIn).toBeLessThanOrEqual(30 * DAY_MS);
      const answers = [
        result.text,
        JSON.stringify((await me(result.sid)).body),
        JSON.stringify((await request(server()).post('/api/me/sync').set('Cookie', `sid=${result.sid}`)).body),
        (await request(server()).get('/').set('Cookie', `sid=${result.sid}`)).text,
      ];
      for (const answer of answers) {
        expect(answer).not.toContain(refreshToken);
      }
    });

    it('should log in with snsapi_base without asking WeChat for the profile', async () => {
      const result = await login({ query: { scope: 'snsapi_base' }, user: { nickname: 'unused' } });
      expect(result.status).toBe(302);
      expect(h.fake.callCount('/sns/userinfo')).toBe(0);
      const profile = await me(result.sid).expect(200);
      expect(profile.body.nickname).toBeNull();
      const home = await request(server()).get('/').set('Cookie', `sid=${result.sid}`).expect(200);
      expect(home.text).toContain('欢迎, 微信用户');
    });

    it('should map the same openid to the same user on a later login and update the profile', async () => {
      const first = await login({ user: { openid: 'o-returning-web', nickname: '旧名字' } });
      const before = await users();
      const second = await login({ user: { openid: 'o-returning-web', nickname: '新名字' } });
      expect(await users()).toBe(before);
      const [a, b] = await Promise.all([me(first.sid), me(second.sid)]);
      expect(b.body.id).toBe(a.body.id);
      expect(b.body.nickname).toBe('新名字');
    });

    it.each([
      ['protocol-relative', '//evil.example/phish'],
      ['backslash', '/\\evil.example'],
      ['encoded backslash', '/%5Cevil.example'],
      ['encoded slashes', '/%2F%2Fevil.example'],
      ['absolute URL', 'https://evil.example/'],
      ['javascript scheme', 'javascript:alert(1)'],
      ['bare host', 'evil.example'],
      ['control characters', '/ok\r\nSet-Cookie: x=1'],
    ])('should send a %s returnTo to / instead', async (_label, returnTo) => {
      const result = await login({ query: { returnTo } });
      expect(result.status).toBe(302);
      expect(result.location).toBe('/');
    });

    it('should answer 400 to a second hit of the same callback URL and create nothing', async () => {
      const first = await login();
      expect(first.status).toBe(302);
      const before = { users: await users(), sessions: await count('SELECT count(*) FROM sessions') };
      const again = await request(server())
        .get(first.callbackPath)
        .set('Cookie', [first.started.browser])
        .set('Accept', 'text/html');
      expect(again.status).toBe(400);
      expect(again.headers['content-type']).toMatch(/text\/html/);
      expect(again.text).toContain('登录链接已失效');
      expect(again.text).toContain('href="/oauth/authorize"');
      expect(again.headers['set-cookie']).toBeUndefined();
      expect(h.fake.callCount('/sns/oauth2/access_token')).toBe(1);
      expect(await users()).toBe(before.users);
      expect(await count('SELECT count(*) FROM sessions')).toBe(before.sessions);
    });

    it('should answer the contract JSON error invalid_state to a client asking for JSON', async () => {
      const res = await request(server())
        .get(`/oauth/callback?code=abc&state=${'0'.repeat(48)}`)
        .set('Accept', 'application/json')
        .expect(400);
      expect(res.body).toEqual({ statusCode: 400, error: 'invalid_state', message: expect.any(String) });
    });

    it('should make exactly one user out of two concurrent hits of the same callback', async () => {
      setOAuthUser(h.fake, {});
      const started = await startLogin();
      const callbackPath = await wechatAnswers(started.location);
      const before = await users();
      const hits = await Promise.all(
        [1, 2].map(() => request(server()).get(callbackPath).set('Cookie', [started.browser])),
      );
      expect(hits.map((res) => res.status).sort()).toEqual([302, 400]);
      expect(await users()).toBe(before + 1);
      expect(h.fake.callCount('/sns/oauth2/access_token')).toBe(1);
    });

    it('should make one user, with its profile, out of concurrent first logins of one WeChat user', async () => {
      const openid = 'o-concurrent-web';
      setOAuthUser(h.fake, { openid, nickname: '并发', headimgurl: 'https://thirdwx.qlogo.cn/mmopen/c/132' });
      const callbacks = await Promise.all(
        Array.from({ length: 8 }, async () => {
          const started = await startLogin();
          return { started, callbackPath: await wechatAnswers(started.location) };
        }),
      );
      const hits = await Promise.all(
        callbacks.map(({ started, callbackPath }) =>
          request(server()).get(callbackPath).set('Cookie', [started.browser]).expect(302),
        ),
      );
      const sids = hits.map((res) =>
        cookiePair(cookieFrom(res.headers['set-cookie'] as unknown as string[], 'sid')).replace(/^sid=/, ''),
      );
      const views = await Promise.all(sids.map((sid) => me(sid).expect(200)));
      expect(new Set(views.map((view) => view.body.id)).size).toBe(1);
      for (const view of views) {
        expect(view.body).toMatchObject({ nickname: '并发', avatarUrl: 'https://thirdwx.qlogo.cn/mmopen/c/132' });
      }
      expect(await count('SELECT count(*) FROM wechat_identities WHERE openid = $1', [openid])).toBe(1);
      expect(await count('SELECT count(*) FROM sessions WHERE user_id = $1', [views[0].body.id])).toBe(8);
    });

    it('should refuse a state presented without the cookie of the browser that started it', async () => {
      setOAuthUser(h.fake, {});
      const victim = await startLogin();
      const callbackPath = await wechatAnswers(victim.location);
      const before = await users();
      await request(server()).get(callbackPath).expect(400);
      const other = await startLogin();
      await request(server()).get(callbackPath).set('Cookie', [other.browser]).expect(400);
      expect(await users()).toBe(before);
      expect(h.fake.callCount('/sns/oauth2/access_token')).toBe(0);
      // The real browser can still finish its own login.
      const res = await request(server()).get(callbackPath).set('Cookie', [victim.browser]);
      expect(res.status).toBe(302);
    });

    it('should answer 400 for an unknown or expired state', async () => {
      setOAuthUser(h.fake, {});
      const started = await startLogin();
      const callbackPath = await wechatAnswers(started.location);
      await h.query(`UPDATE oauth_states SET expires_at = now() - interval '1 second'`);
      await request(server()).get(callbackPath).set('Cookie', [started.browser]).expect(400);
      await request(server())
        .get(callbackPath.replace(/state=[0-9a-f]+/, `state=${'a'.repeat(48)}`))
        .set('Cookie', [started.browser])
        .expect(400);
      await request(server()).get('/oauth/callback?code=abc').set('Cookie', [started.browser]).expect(400);
      expect(h.fake.callCount('/sns/oauth2/access_token')).toBe(0);
    });

    it('should show a 200 page saying the user refused, with a way to try again, and create nobody', async () => {
      setAuthorizeMode(h.fake, 'deny');
      const before = await users();
      const started = await startLogin({ returnTo: '/cart' });
      const callbackPath = await wechatAnswers(started.location);
      expect(callbackPath).not.toContain('code=');
      const res = await request(server()).get(callbackPath).set('Cookie', [started.browser]).expect(200);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.text).toContain('你拒绝了微信授权');
      expect(res.text).toContain('href="/oauth/authorize?scope=snsapi_userinfo&amp;returnTo=%2Fcart"');
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(await users()).toBe(before);
      const stateHash = createHash('sha256').update(started.state).digest('hex');
      expect(await count('SELECT count(*) FROM oauth_states WHERE state_hash = $1', [stateHash])).toBe(0);
    });

    it('should show a 401 page when WeChat refuses the code (40163 already used) and create nobody', async () => {
      setOAuthUser(h.fake, {});
      const started = await startLogin();
      const callbackPath = await wechatAnswers(started.location);
      const code = new URLSearchParams(callbackPath.split('?')[1]).get('code') ?? '';
      // Someone (a proxy, a prefetch) already redeemed the code.
      const used = await fetch(
        `${h.fake.url}/sns/oauth2/access_token?appid=${OA_APP.appid}&secret=${OA_APP.secret}&code=${code}&grant_type=authorization_code`,
      );
      expect(((await used.json()) as { openid?: string }).openid).toBeDefined();
      const before = await users();
      const res = await request(server())
        .get(callbackPath)
        .set('Cookie', [started.browser])
        .set('Accept', 'text/html')
        .expect(401);
      expect(res.text).toContain('微信授权未通过');
      expect(res.text).toContain('重新登录');
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(await users()).toBe(before);
    });

    it('should answer 401 invalid_code as JSON for an unknown code (40029)', async () => {
      const started = await startLogin();
      const res = await request(server())
        .get(`/oauth/callback?code=not-a-code&state=${started.state}`)
        .set('Cookie', [started.browser])
        .expect(401);
      expect(res.body).toEqual({ statusCode: 401, error: 'invalid_code', message: expect.any(String) });
    });

    it.each([
      ['is down (HTTP 503)', '/sns/oauth2/access_token', { httpStatus: 503 }],
      ['stays busy (-1 twice)', '/sns/oauth2/access_token', { errcode: -1 }],
      ['answers garbage', '/sns/oauth2/access_token', { garbage: true as const }],
      ['fails the userinfo call', '/sns/userinfo', { httpStatus: 500 }],
    ])('should show a 502 page when WeChat %s, and create nobody', async (_label, path, fault) => {
      h.fake.inject(path, fault, 2);
      const before = await users();
      const result = await login();
      expect(result.status).toBe(502);
      expect(result.text).toContain('微信暂时无法访问');
      expect(result.sidCookie).toBeUndefined();
      expect(await users()).toBe(before);
    });

    it('should answer 502 within the time-out when WeChat stalls', async () => {
      h.fake.inject('/sns/oauth2/access_token', { delayMs: 10_000 });
      const started = Date.now();
      const result = await login({ accept: 'application/json' });
      expect(result.status).toBe(502);
      expect(JSON.parse(result.text)).toEqual({
        statusCode: 502,
        error: 'wechat_unavailable',
        message: expect.stringContaining('in time'),
      });
      expect(Date.now() - started).toBeLessThan(6_000);
    });

    it('should not make a snapshot-page visitor a user and ask them to open the full page', async () => {
      setAuthorizeMode(h.fake, 'snapshot');
      const before = await users();
      const result = await login();
      expect(result.status).toBe(200);
      expect(result.text).toContain('使用完整服务');
      expect(result.sidCookie).toBeUndefined();
      expect(await users()).toBe(before);
      expect(h.fake.callCount('/sns/userinfo')).toBe(0);
    });
  });

  describe('account binding by intent and unionid', () => {
    const miniProgramLogin = async (spec: Parameters<typeof prepareLoginCode>[1] = {}) =>
      (
        await request(server())
          .post('/miniprogram/login')
          .send({ code: prepareLoginCode(h.fake, spec) })
          .expect(200)
      ).body as { token: string; user: { id: string } };
    const identitiesOf = async (userId: string) =>
      (await h.query<{ source: string }>('SELECT source FROM wechat_identities WHERE user_id = $1', [userId]))
        .map((row) => row.source)
        .sort();

    it("should not give a session planted in the browser the victim's WeChat identity", async () => {
      const attacker = await miniProgramLogin({ openid: 'o-mp-attacker' });
      const before = await users();
      const victim = await login({ user: { openid: 'o-web-victim' }, cookies: [`sid=${attacker.token}`] });
      expect(victim.status).toBe(302);
      expect(await users()).toBe(before + 1);
      const victimView = (await me(victim.sid).expect(200)).body;
      expect(victimView.id).not.toBe(attacker.user.id);
      expect(victimView.identities).toEqual([expect.objectContaining({ openid: 'o-web-victim' })]);
      expect(await identitiesOf(attacker.user.id)).toEqual(['mini_program']);
      // The planted session is replaced, not kept alongside.
      await request(server()).get('/api/me').set('Authorization', `Bearer ${attacker.token}`).expect(401);
    });

    it('should log in as the owner, not merge accounts, when the openid already belongs to someone else', async () => {
      const owner = await login({ user: { openid: 'o-owned-elsewhere' } });
      const ownerId = (await me(owner.sid)).body.id;
      const mp = await miniProgramLogin();
      const result = await login({ user: { openid: 'o-owned-elsewhere' }, cookies: [`sid=${mp.token}`] });
      expect((await me(result.sid)).body.id).toBe(ownerId);
      expect(await identitiesOf(mp.user.id)).toEqual(['mini_program']);
      await request(server()).get('/api/me').set('Authorization', `Bearer ${mp.token}`).expect(401);
    });

    it('should issue a new sid on every login and end the session the browser held', async () => {
      const first = await login({ user: { openid: 'o-relogin' } });
      const second = await login({ user: { openid: 'o-relogin' }, cookies: [`sid=${first.sid}`] });
      expect(second.status).toBe(302);
      expect(second.sid).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(second.sid).not.toBe(first.sid);
      await me(first.sid).expect(401);
      expect((await me(second.sid).expect(200)).body.identities).toHaveLength(1);
    });

    it('should join the WeChat identity to the logged-in user with bind=1, with a new session', async () => {
      const mp = await miniProgramLogin({ openid: 'o-mp-binder' });
      const before = await users();
      const result = await login({ query: { bind: '1', returnTo: '/account' }, cookies: [`sid=${mp.token}`] });
      expect(result.status).toBe(302);
      expect(result.location).toBe('/account');
      expect(await users()).toBe(before);
      const profile = await me(result.sid).expect(200);
      expect(profile.body.id).toBe(mp.user.id);
      expect(profile.body.identities.map((i: { source: string }) => i.source).sort()).toEqual([
        'mini_program',
        'official_account',
      ]);
      expect(result.sid).not.toBe(mp.token);
      await request(server()).get('/api/me').set('Authorization', `Bearer ${mp.token}`).expect(401);
    });

    it("should keep an identity that is already the user's own on bind=1, with a new session", async () => {
      const first = await login({ user: { openid: 'o-bind-own' } });
      const userId = (await me(first.sid)).body.id;
      const again = await login({
        user: { openid: 'o-bind-own' },
        query: { bind: '1' },
        cookies: [`sid=${first.sid}`],
      });
      expect(again.status).toBe(302);
      expect((await me(again.sid).expect(200)).body).toMatchObject({ id: userId, identities: [expect.anything()] });
      await me(first.sid).expect(401);
    });

    it('should show a 409 page and change nothing when the identity belongs to a user with other identities', async () => {
      const owner = await miniProgramLogin({ unionid: 'u-owner-two' });
      const ownerWeb = await login({ user: { openid: 'o-web-owned', unionid: 'u-owner-two' } });
      expect((await me(ownerWeb.sid)).body.id).toBe(owner.user.id);
      const binder = await miniProgramLogin();
      const before = { users: await users(), sessions: await count('SELECT count(*) FROM sessions') };
      const result = await login({
        user: { openid: 'o-web-owned', unionid: 'u-owner-two' },
        query: { bind: '1' },
        cookies: [`sid=${binder.token}`],
      });
      expect(result.status).toBe(409);
      expect(result.text).toContain('该微信已绑定其他账号');
      expect(result.sidCookie).toBeUndefined();
      expect(await identitiesOf(owner.user.id)).toEqual(['mini_program', 'official_account']);
      expect(await identitiesOf(binder.user.id)).toEqual(['mini_program']);
      expect({ users: await users(), sessions: await count('SELECT count(*) FROM sessions') }).toEqual(before);
      // Both keep their sessions.
      await me(ownerWeb.sid).expect(200);
      await request(server()).get('/api/me').set('Authorization', `Bearer ${binder.token}`).expect(200);
    });

    it('should answer the 409 as JSON to a client asking for JSON', async () => {
      const owner = await login({ user: { openid: 'o-web-owned-json', unionid: 'u-owner-json' } });
      await miniProgramLogin({ unionid: 'u-owner-json' });
      const binder = await miniProgramLogin();
      const result = await login({
        user: { openid: 'o-web-owned-json', unionid: 'u-owner-json' },
        query: { bind: '1' },
        cookies: [`sid=${binder.token}`],
        accept: 'application/json',
      });
      expect(result.status).toBe(409);
      expect(JSON.parse(result.text)).toEqual({ statusCode: 409, error: 'conflict', message: expect.any(String) });
      await me(owner.sid).expect(200);
    });

    it('should show a 409 page when a new identity carries a unionid that belongs to another user', async () => {
      const owner = await miniProgramLogin({ unionid: 'u-taken-by-mp' });
      const binder = await miniProgramLogin();
      const result = await login({
        user: { openid: 'o-web-new-taken', unionid: 'u-taken-by-mp' },
        query: { bind: '1' },
        cookies: [`sid=${binder.token}`],
      });
      expect(result.status).toBe(409);
      expect(await count('SELECT count(*) FROM wechat_identities WHERE openid = $1', ['o-web-new-taken'])).toBe(0);
      expect(await identitiesOf(owner.user.id)).toEqual(['mini_program']);
    });

    it('should move an identity that is the only one of its user to the binding user and end that user', async () => {
      const lone = await login({ user: { openid: 'o-web-lone' } });
      const loneId = (await me(lone.sid)).body.id;
      const binder = await miniProgramLogin();
      const result = await login({
        user: { openid: 'o-web-lone' },
        query: { bind: '1' },
        cookies: [`sid=${binder.token}`],
      });
      expect(result.status).toBe(302);
      expect((await me(result.sid).expect(200)).body.id).toBe(binder.user.id);
      expect(await identitiesOf(binder.user.id)).toEqual(['mini_program', 'official_account']);
      expect(await identitiesOf(loneId)).toEqual([]);
      await me(lone.sid).expect(401);
    });

    it('should answer 401 to bind=1 without a live session, a page for browsers and JSON otherwise', async () => {
      const before = await count('SELECT count(*) FROM oauth_states');
      const page = await request(server()).get('/oauth/authorize?bind=1').set('Accept', 'text/html').expect(401);
      expect(page.headers['content-type']).toMatch(/text\/html/);
      expect(page.text).toContain('请先登录');
      const json = await request(server())
        .get('/oauth/authorize?bind=1')
        .set('Cookie', `sid=${'x'.repeat(43)}`)
        .expect(401);
      expect(json.body).toEqual({
        statusCode: 401,
        error: 'unauthorized',
        message: expect.stringContaining('session'),
      });
      const ended = await login({ user: { openid: 'o-logged-out' } });
      await request(server()).post('/api/logout').set('Cookie', `sid=${ended.sid}`).expect(204);
      await request(server()).get('/oauth/authorize?bind=1').set('Cookie', `sid=${ended.sid}`).expect(401);
      expect(await count('SELECT count(*) FROM oauth_states')).toBe(before);
    });

    it('should refuse bind=1 from a page of another site and a bind that is not 1', async () => {
      const mp = await miniProgramLogin();
      const crossSite = await request(server())
        .get('/oauth/authorize?bind=1')
        .set('Cookie', `sid=${mp.token}`)
        .set('Sec-Fetch-Site', 'cross-site')
        .expect(403);
      expect(crossSite.body.error).toBe('forbidden');
      await request(server())
        .get('/oauth/authorize?bind=1')
        .set('Cookie', `sid=${mp.token}`)
        .set('Sec-Fetch-Site', 'same-origin')
        .expect(302);
      const bad = await request(server()).get('/oauth/authorize?bind=yes').set('Cookie', `sid=${mp.token}`).expect(400);
      expect(bad.body.message).toContain('bind');
    });

    it('should join the user its unionid already belongs to', async () => {
      const mp = await request(server())
        .post('/miniprogram/login')
        .send({ code: prepareLoginCode(h.fake, { unionid: 'u-web-join' }) })
        .expect(200);
      const result = await login({ user: { unionid: 'u-web-join' } });
      const profile = await me(result.sid).expect(200);
      expect(profile.body).toMatchObject({ id: mp.body.user.id, unionid: 'u-web-join' });
      expect(profile.body.identities).toHaveLength(2);
    });
  });

  describe('POST /api/me/sync', () => {
    const sync = (sid: string) => request(server()).post('/api/me/sync').set('Cookie', `sid=${sid}`);

    it('should refresh the profile with the kept refresh_token without a new authorization', async () => {
      const result = await login({ user: { nickname: '改名前' } });
      updateOAuthProfile(h.fake, OA_APP.appid, result.user.openid, {
        nickname: '改名后',
        headimgurl: 'https://thirdwx.qlogo.cn/mmopen/new/132',
      });
      h.fake.resetCalls();
      const res = await sync(result.sid).expect(200);
      expect(res.body).toMatchObject({ nickname: '改名后', avatarUrl: 'https://thirdwx.qlogo.cn/mmopen/new/132' });
      expect(h.fake.callCount('/sns/oauth2/refresh_token')).toBe(1);
      expect(h.fake.callCount('/sns/auth')).toBe(1);
      expect(h.fake.callCount('/sns/userinfo')).toBe(1);
      expect(h.fake.callCount('/sns/oauth2/access_token')).toBe(0);
      expect((await me(result.sid)).body.nickname).toBe('改名后');
    });

    it('should answer 409 reauthorize once WeChat says the refresh_token lapsed (30 days, 42002)', async () => {
      const result = await login();
      h.fake.clockOffsetMs = 31 * DAY_MS;
      const res = await sync(result.sid).expect(409);
      expect(res.body).toEqual({ statusCode: 409, error: 'reauthorize', message: expect.any(String) });
      expect(h.fake.callCount('/sns/userinfo')).toBe(1);
    });

    it('should answer 409 reauthorize without calling WeChat when the kept refresh_token is past 30 days', async () => {
      const result = await login();
      await h.query(
        `UPDATE wechat_identities SET refresh_token_expires_at = now() - interval '1 second' WHERE openid = $1`,
        [result.user.openid],
      );
      h.fake.resetCalls();
      const res = await sync(result.sid).expect(409);
      expect(res.body.error).toBe('reauthorize');
      expect(h.fake.calls).toHaveLength(0);
    });

    it('should answer 409 reauthorize when WeChat answers 42002 to the refresh', async () => {
      const result = await login();
      h.fake.inject('/sns/oauth2/refresh_token', { errcode: 42002, errmsg: 'refresh_token expired' });
      await sync(result.sid).expect(409);
    });

    it('should answer 409 reauthorize for a user without a web authorization', async () => {
      const mp = await request(server())
        .post('/miniprogram/login')
        .send({ code: prepareLoginCode(h.fake) })
        .expect(200);
      const res = await request(server())
        .post('/api/me/sync')
        .set('Authorization', `Bearer ${mp.body.token}`)
        .expect(409);
      expect(res.body.error).toBe('reauthorize');
      expect(h.fake.calls.filter((call) => call.path.startsWith('/sns/oauth2'))).toHaveLength(0);
    });

    it('should answer 409 reauthorize when only snsapi_base was granted', async () => {
      const result = await login({ query: { scope: 'snsapi_base' } });
      const res = await sync(result.sid).expect(409);
      expect(res.body.error).toBe('reauthorize');
      expect(h.fake.callCount('/sns/userinfo')).toBe(0);
    });

    it('should answer 502 when WeChat is down during the refresh', async () => {
      const result = await login();
      h.fake.inject('/sns/oauth2/refresh_token', { httpStatus: 503 });
      const res = await sync(result.sid).expect(502);
      expect(res.body.error).toBe('wechat_unavailable');
    });

    it('should answer 401 without a session', async () => {
      await request(server()).post('/api/me/sync').expect(401);
    });
  });

  describe('GET /', () => {
    it('should show a guest 游客 and a 微信登录 link, on a phone-ready page that allows no scripts', async () => {
      const res = await request(server()).get('/').expect(200);
      expect(res.headers['content-type']).toMatch(/text\/html; charset=utf-8/);
      expect(res.text).toContain('游客');
      expect(res.text).toMatch(/<a class="btn" href="\/oauth\/authorize">微信登录<\/a>/);
      expect(res.text).toContain('<meta name="viewport" content="width=device-width');
      expect(res.text).not.toMatch(/<script|<link /);
      expect(res.headers['content-security-policy']).toMatch(/default-src 'none'/);
      expect(res.headers['content-security-policy']).not.toMatch(/script-src/);
    });

    it('should greet a logged-in user by nickname with the avatar', async () => {
      const result = await login({
        user: { nickname: '李四', headimgurl: 'https://thirdwx.qlogo.cn/mmopen/li4/132' },
      });
      const res = await request(server()).get('/').set('Cookie', `sid=${result.sid}`).expect(200);
      expect(res.text).toContain('欢迎, 李四');
      expect(res.text).toContain('<img class="avatar" src="https://thirdwx.qlogo.cn/mmopen/li4/132"');
      expect(res.text).not.toContain('游客');
    });

    it('should escape a nickname that carries HTML and drop an avatar that is not http(s)', async () => {
      const result = await login({
        user: { nickname: '<script>alert("x")</script>&', headimgurl: 'javascript:alert(1)' },
      });
      const res = await request(server()).get('/').set('Cookie', `sid=${result.sid}`).expect(200);
      expect(res.text).toContain('欢迎, &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;');
      expect(res.text).not.toContain('<script>');
      expect(res.text).not.toContain('javascript:');
    });

    it('should show the guest page after logout', async () => {
      const result = await login();
      await request(server()).post('/api/logout').set('Cookie', `sid=${result.sid}`).expect(204);
      const res = await request(server()).get('/').set('Cookie', `sid=${result.sid}`).expect(200);
      expect(res.text).toContain('游客');
    });
  });

  describe('configuration', () => {
    it('should set Secure cookies and an https redirect_uri when PUBLIC_BASE_URL is https', async () => {
      const app = await h.startInstance({ PUBLIC_BASE_URL: 'https://wx.example.com' });
      const result = await login({ app });
      expect(result.started.location).toContain('redirect_uri=https%3A%2F%2Fwx.example.com%2Foauth%2Fcallback&');
      expect(result.started.setCookie).toMatch(/; Secure/);
      expect(result.status).toBe(302);
      expect(result.sidCookie).toMatch(/; Secure/);
    });

    it('should stay mounted and answer 503 naming the variable when the official account is not configured', async () => {
      const app = await h.startInstance({ WECHAT_OA_APPID: undefined, WECHAT_OA_SECRET: undefined });
      const res = await request(server(app)).get('/oauth/authorize').expect(503);
      expect(res.body).toEqual({
        statusCode: 503,
        error: 'not_configured',
        message: expect.stringContaining('WECHAT_OA_APPID'),
      });
      const page = await request(server(app)).get('/oauth/authorize').set('Accept', 'text/html').expect(503);
      expect(page.text).toContain('微信登录尚未配置');
      await request(server(app)).get('/').expect(200);
    });

    it('should list every OAuth route in the OpenAPI document', async () => {
      const res = await request(server()).get('/docs/json').expect(200);
      const paths = res.body.paths as Record<string, Record<string, unknown>>;
      expect(paths['/oauth/authorize'].get).toBeDefined();
      expect(paths['/oauth/callback'].get).toBeDefined();
      expect(paths['/api/me/sync'].post).toBeDefined();
      expect(paths['/'].get).toBeDefined();
    });

    it('should run the hot statements as prepared statements on PostgreSQL', async () => {
      // The probe is listed in pg_prepared_statements only on a connection where it was prepared by name.
      const rows = await h.app
        .get(Sql)
        .prepared<{ name: string }>('probe_prepared', 'SELECT name FROM pg_prepared_statements WHERE name = $1', [
          'probe_prepared',
        ]);
      expect(rows).toEqual([{ name: 'probe_prepared' }]);
    });
  });
});
