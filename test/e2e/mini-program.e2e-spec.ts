import request from 'supertest';
import { prepareLoginCode, preparePhoneCode } from 'test/fake-wechat/routes/mini-program.routes';
import { invalidateTokens } from 'test/fake-wechat/routes/token.routes';
import { Harness, MP_APP, OA_APP, startHarness } from 'test/support/create-test-app';

describe('MiniProgramModule (e2e)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });

  afterAll(async () => {
    await h.close();
  });

  beforeEach(() => {
    h.fake.clearFaults();
    h.fake.resetCalls();
  });

  const login = (code: unknown) => request(h.app.getHttpServer()).post('/miniprogram/login').send({ code });
  const count = async (sql: string, params: unknown[] = []) =>
    Number((await h.query<{ count: string }>(sql, params))[0].count);

  it('should log a new user in and hand out a session that /api/me accepts', async () => {
    const code = prepareLoginCode(h.fake, { openid: 'o-first-login' });
    const res = await login(code).expect(200);
    expect(res.body).toEqual({
      token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      expiresIn: 2592000,
      user: { id: expect.any(String), openid: 'o-first-login', unionid: null, isNew: true },
    });
    expect(JSON.stringify(res.body)).not.toMatch(/session_key|sessionKey/);
    const me = await request(h.app.getHttpServer())
      .get('/api/me')
      .set('Authorization', `Bearer ${res.body.token}`)
      .expect(200);
    expect(me.body).toMatchObject({
      id: res.body.user.id,
      identities: [{ appid: MP_APP.appid, openid: 'o-first-login', source: 'mini_program', subscribed: null }],
    });
  });

  it('should map the same openid to the same user on a later login', async () => {
    const first = await login(prepareLoginCode(h.fake, { openid: 'o-returning' })).expect(200);
    const second = await login(prepareLoginCode(h.fake, { openid: 'o-returning' })).expect(200);
    expect(second.body.user).toEqual({ ...first.body.user, isNew: false });
    expect(second.body.token).not.toEqual(first.body.token);
  });

  it('should keep the session_key sealed in the database, never in clear', async () => {
    await login(prepareLoginCode(h.fake, { openid: 'o-sealed' })).expect(200);
    const rows = await h.query(`SELECT session_key_sealed FROM wechat_identities WHERE openid = 'o-sealed'`);
    expect(rows[0].session_key_sealed).toMatch(/^v1\./);
    const issued = h.fake.callsTo('/sns/jscode2session');
    expect(issued).toHaveLength(1);
    const sessions = await h.query<{ token_hash: string }>(`SELECT token_hash FROM sessions`);
    expect(sessions.every((row: { token_hash: string }) => /^[0-9a-f]{64}$/.test(row.token_hash))).toBe(true);
  });

  it.each([
    ['missing', undefined],
    ['a number', 12345],
    ['an empty string', ''],
    ['an object', { $ne: 1 }],
  ])('should answer 400 when the code is %s, and call nobody', async (_label, code) => {
    const res = await login(code).expect(400);
    expect(res.body).toEqual({ statusCode: 400, error: 'bad_request', message: expect.stringContaining('code') });
    expect(h.fake.callCount('/sns/jscode2session')).toBe(0);
  });

  it('should answer 401 invalid_code for an unknown code (40029) and create nobody', async () => {
    const users = await count('SELECT count(*) FROM users');
    const res = await login('no-such-code').expect(401);
    expect(res.body).toEqual({ statusCode: 401, error: 'invalid_code', message: expect.any(String) });
    expect(await count('SELECT count(*) FROM users')).toBe(users);
  });

  it('should answer 401 invalid_code when a code is used twice (40163)', async () => {
    const code = prepareLoginCode(h.fake);
    await login(code).expect(200);
    const res = await login(code).expect(401);
    expect(res.body.error).toBe('invalid_code');
  });

  it('should answer 403 risky_user when WeChat flags the user (40226)', async () => {
    const res = await login(prepareLoginCode(h.fake, { risky: true })).expect(403);
    expect(res.body).toEqual({ statusCode: 403, error: 'risky_user', message: expect.any(String) });
  });

  it('should answer 502 wechat_unavailable when WeChat fails with a 5xx', async () => {
    h.fake.inject('/sns/jscode2session', { httpStatus: 503 });
    const res = await login(prepareLoginCode(h.fake)).expect(502);
    expect(res.body.error).toBe('wechat_unavailable');
  });

  it('should retry once when WeChat is busy (-1) and then succeed', async () => {
    h.fake.inject('/sns/jscode2session', { errcode: -1, errmsg: 'system error' });
    await login(prepareLoginCode(h.fake)).expect(200);
    expect(h.fake.callCount('/sns/jscode2session')).toBe(2);
  });

  it('should answer 502 within 15 s when WeChat stalls', async () => {
    h.fake.inject('/sns/jscode2session', { delayMs: 20_000 });
    const started = Date.now();
    const res = await login(prepareLoginCode(h.fake)).expect(502);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(res.body).toEqual({ statusCode: 502, error: 'wechat_unavailable', message: expect.any(String) });
  });

  it('should answer 502 when WeChat answers something that is not JSON', async () => {
    h.fake.inject('/sns/jscode2session', { garbage: true });
    await login(prepareLoginCode(h.fake)).expect(502);
  });

  it('should make exactly one user out of 50 concurrent first logins of one openid', async () => {
    const codes = Array.from({ length: 50 }, () => prepareLoginCode(h.fake, { openid: 'o-concurrent' }));
    const results = await Promise.all(codes.map((code) => login(code)));
    expect(results.map((res) => res.status)).toEqual(Array(50).fill(200));
    const userIds = new Set(results.map((res) => res.body.user.id));
    expect(userIds.size).toBe(1);
    expect(results.filter((res) => res.body.user.isNew)).toHaveLength(1);
    expect(await count(`SELECT count(*) FROM wechat_identities WHERE openid = 'o-concurrent'`)).toBe(1);
    expect(await count(`SELECT count(*) FROM users WHERE id = $1`, [[...userIds][0]])).toBe(1);
    expect(
      await count(
        `SELECT count(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM wechat_identities i WHERE i.user_id = u.id)`,
      ),
    ).toBe(0);
  });

  it('should join two identities with the same unionid into one user', async () => {
    // The official account's identity arrives first (e.g. a follower), then the mini-program login.
    const oa = await login(prepareLoginCode(h.fake, { openid: 'o-mp-union', unionid: 'u-shared-1' })).expect(200);
    await h.query(
      `INSERT INTO wechat_identities (user_id, appid, openid, source, unionid) SELECT id, $1, 'o-oa-union', 'official_account', 'u-shared-1' FROM users WHERE id = $2`,
      [OA_APP.appid, oa.body.user.id],
    );
    const second = await login(prepareLoginCode(h.fake, { openid: 'o-mp-union', unionid: 'u-shared-1' })).expect(200);
    expect(second.body.user.id).toBe(oa.body.user.id);
    const me = await request(h.app.getHttpServer()).get('/api/me').set('Authorization', `Bearer ${second.body.token}`);
    expect(me.body.unionid).toBe('u-shared-1');
    expect(me.body.identities.map((i: { source: string }) => i.source).sort()).toEqual([
      'mini_program',
      'official_account',
    ]);
  });

  it('should let a new identity join the user its unionid already belongs to', async () => {
    const first = await login(prepareLoginCode(h.fake, { openid: 'o-u2-a', unionid: 'u-shared-2' })).expect(200);
    const second = await login(prepareLoginCode(h.fake, { openid: 'o-u2-b', unionid: 'u-shared-2' })).expect(200);
    expect(second.body.user).toMatchObject({ id: first.body.user.id, isNew: false, unionid: 'u-shared-2' });
  });

  describe('phone', () => {
    it('should fetch the phone number with the access token and keep it on the user', async () => {
      const { body } = await login(prepareLoginCode(h.fake)).expect(200);
      const res = await request(h.app.getHttpServer())
        .post('/miniprogram/phone')
        .set('Authorization', `Bearer ${body.token}`)
        .send({ code: preparePhoneCode(h.fake, '13900139000') })
        .expect(200);
      expect(res.body).toEqual({ phoneNumber: '13900139000', purePhoneNumber: '13900139000', countryCode: '86' });
      const me = await request(h.app.getHttpServer()).get('/api/me').set('Authorization', `Bearer ${body.token}`);
      expect(me.body).toMatchObject({ phone: '13900139000', countryCode: '86' });
    });

    it('should retry once with a new token when WeChat has invalidated the cached one', async () => {
      const { body } = await login(prepareLoginCode(h.fake)).expect(200);
      const phone = () =>
        request(h.app.getHttpServer())
          .post('/miniprogram/phone')
          .set('Authorization', `Bearer ${body.token}`)
          .send({ code: preparePhoneCode(h.fake) });
      await phone().expect(200);
      invalidateTokens(h.fake, MP_APP.appid);
      h.fake.resetCalls();
      await phone().expect(200);
      expect(h.fake.callCount('/wxa/business/getuserphonenumber')).toBe(2);
      expect(h.fake.callCount('/cgi-bin/stable_token')).toBe(1);
    });

    it('should answer 401 invalid_code for a used phone code', async () => {
      const { body } = await login(prepareLoginCode(h.fake)).expect(200);
      const code = preparePhoneCode(h.fake);
      const phone = () =>
        request(h.app.getHttpServer())
          .post('/miniprogram/phone')
          .set('Authorization', `Bearer ${body.token}`)
          .send({ code });
      await phone().expect(200);
      const res = await phone().expect(401);
      expect(res.body.error).toBe('invalid_code');
    });

    it('should answer 401 to a garbage bearer and call nobody', async () => {
      const res = await request(h.app.getHttpServer())
        .post('/miniprogram/phone')
        .set('Authorization', 'Bearer not-a-real-token')
        .send({ code: 'x' })
        .expect(401);
      expect(res.body.error).toBe('unauthorized');
      expect(h.fake.calls).toHaveLength(0);
    });
  });

  describe('profile', () => {
    it('should set the nickname and avatar and return the updated user', async () => {
      const { body } = await login(prepareLoginCode(h.fake)).expect(200);
      const res = await request(h.app.getHttpServer())
        .post('/miniprogram/profile')
        .set('Authorization', `Bearer ${body.token}`)
        .send({ nickname: '小明 🐼', avatarUrl: 'https://thirdwx.qlogo.cn/a/132' })
        .expect(200);
      expect(res.body).toMatchObject({
        id: body.user.id,
        nickname: '小明 🐼',
        avatarUrl: 'https://thirdwx.qlogo.cn/a/132',
      });
    });

    it('should refuse an avatarUrl that is not a URL and change nothing', async () => {
      const { body } = await login(prepareLoginCode(h.fake)).expect(200);
      await request(h.app.getHttpServer())
        .post('/miniprogram/profile')
        .set('Authorization', `Bearer ${body.token}`)
        .send({ nickname: 'n', avatarUrl: 'javascript:alert(1)' })
        .expect(400);
      const me = await request(h.app.getHttpServer()).get('/api/me').set('Authorization', `Bearer ${body.token}`);
      expect(me.body.nickname).toBeNull();
    });
  });

  describe('sessions', () => {
    it('should stop accepting a session after logout', async () => {
      const { body } = await login(prepareLoginCode(h.fake)).expect(200);
      const auth = `Bearer ${body.token}`;
      await request(h.app.getHttpServer()).post('/api/logout').set('Authorization', auth).expect(204);
      await request(h.app.getHttpServer()).get('/api/me').set('Authorization', auth).expect(401);
    });

    it('should accept the session from the sid cookie too', async () => {
      const { body } = await login(prepareLoginCode(h.fake)).expect(200);
      await request(h.app.getHttpServer()).get('/api/me').set('Cookie', `sid=${body.token}`).expect(200);
    });

    it('should refuse an expired session', async () => {
      const { body } = await login(prepareLoginCode(h.fake)).expect(200);
      await h.query(`UPDATE sessions SET expires_at = now() - interval '1 second'`);
      await request(h.app.getHttpServer()).get('/api/me').set('Authorization', `Bearer ${body.token}`).expect(401);
    });
  });
});
