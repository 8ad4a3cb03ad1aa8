import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { TokenService } from 'src/token/token.service';
import { invalidateTokens } from 'test/fake-wechat/routes/token.routes';
import { ADMIN_KEY, createTestApp, Harness, MP_APP, OA_APP, startHarness } from 'test/support/create-test-app';

describe('TokenModule (e2e)', () => {
  let h: Harness;
  /** A fresh instance per test: each starts with an empty in-memory token copy. */
  let app: NestFastifyApplication;

  beforeAll(async () => {
    h = await startHarness();
  });

  afterAll(async () => {
    await h.close();
  });

  beforeEach(async () => {
    h.fake.clearFaults();
    h.fake.resetCalls();
    h.fake.state.delete('tokens');
    await h.query('DELETE FROM access_tokens');
    app = await h.startInstance();
  });

  afterEach(async () => {
    await app.close();
  });

  const getToken = (app: NestFastifyApplication, appid = OA_APP.appid) =>
    request(app.getHttpServer()).get('/admin/token').query({ appid }).set('X-Admin-Key', ADMIN_KEY);

  it('should hand out the central token with its expiry and keep it sealed in the database', async () => {
    const res = await getToken(app).expect(200);
    expect(res.body).toEqual({ appid: OA_APP.appid, accessToken: expect.any(String), expiresAt: expect.any(String) });
    const lifetime = new Date(res.body.expiresAt).getTime() - Date.now();
    expect(lifetime).toBeGreaterThan(7100_000);
    expect(lifetime).toBeLessThanOrEqual(7200_000);
    const rows = await h.query('SELECT access_token_sealed FROM access_tokens WHERE appid = $1', [OA_APP.appid]);
    expect(rows[0].access_token_sealed).not.toContain(res.body.accessToken);
    await getToken(app).expect(200);
    expect(h.fake.callCount('/cgi-bin/stable_token')).toBe(1);
    expect(h.fake.callsTo('/cgi-bin/stable_token')[0].body).toMatchObject({ force_refresh: false });
  });

  it('should keep tokens per appid', async () => {
    const oa = await getToken(app, OA_APP.appid).expect(200);
    const mp = await getToken(app, MP_APP.appid).expect(200);
    expect(oa.body.accessToken).not.toBe(mp.body.accessToken);
  });

  it('should fetch exactly once for 90 concurrent requests on three instances with a cold cache', async () => {
    const second = await h.startInstance();
    const third = await h.startInstance();
    // A slow WeChat widens the window in which instances race for the refresh.
    h.fake.inject('/cgi-bin/stable_token', { delayMs: 300 });
    const instances = [app, second, third];
    const results = await Promise.all(Array.from({ length: 90 }, (_, i) => getToken(instances[i % 3])));
    expect(results.map((res) => res.status)).toEqual(Array(90).fill(200));
    expect(new Set(results.map((res) => res.body.accessToken)).size).toBe(1);
    expect(h.fake.callCount('/cgi-bin/stable_token')).toBe(1);
    await Promise.all([second.close(), third.close()]);
  });

  it('should keep the cached token across a restart', async () => {
    const before = await getToken(app).expect(200);
    const restarted = await createTestApp(h.env);
    try {
      const after = await getToken(restarted).expect(200);
      expect(after.body.accessToken).toBe(before.body.accessToken);
      expect(h.fake.callCount('/cgi-bin/stable_token')).toBe(1);
    } finally {
      await restarted.close();
    }
  });

  it('should refresh a margin before expiry', async () => {
    const first = await getToken(app).expect(200);
    // Four minutes left is inside the five-minute margin: the next read fetches; WeChat's clock agrees.
    await h.query(
      `UPDATE access_tokens SET refresh_at = now() - interval '1 second', expires_at = now() + interval '4 minutes'`,
    );
    const restarted = await createTestApp(h.env);
    try {
      h.fake.clockOffsetMs = 7200_000 - 240_000;
      const second = await getToken(restarted).expect(200);
      expect(second.body.accessToken).not.toBe(first.body.accessToken);
      expect(h.fake.callCount('/cgi-bin/stable_token')).toBe(2);
    } finally {
      h.fake.clockOffsetMs = 0;
      await restarted.close();
    }
  });

  it('should drop a token WeChat rejects only if it is still the stored one', async () => {
    const first = await getToken(app).expect(200);
    invalidateTokens(h.fake, OA_APP.appid);
    // Another instance already replaced it: a late rejection of the old token must not expire the new one.
    const other = await h.startInstance();
    try {
      await h.query(`UPDATE access_tokens SET refresh_at = now() - interval '1 second'`);
      const fresh = await getToken(other).expect(200);
      expect(fresh.body.accessToken).not.toBe(first.body.accessToken);
      const before = await h.query('SELECT token_hash, refresh_at FROM access_tokens');
      const tokens = other.get(TokenService);
      await tokens.onTokenRejected(OA_APP.appid, first.body.accessToken);
      const after = await h.query('SELECT token_hash, refresh_at FROM access_tokens');
      expect(after).toEqual(before);
      await tokens.onTokenRejected(OA_APP.appid, fresh.body.accessToken);
      const expired = await h.query<{ refresh_at: Date }>('SELECT refresh_at FROM access_tokens');
      expect(new Date(expired[0].refresh_at).getTime()).toBeLessThan(Date.now());
    } finally {
      await other.close();
    }
  });

  describe('force refresh', () => {
    it('should replace the token with force_refresh and invalidate the old one upstream', async () => {
      const before = await getToken(app).expect(200);
      const res = await request(app.getHttpServer())
        .post('/admin/token/refresh')
        .query({ appid: OA_APP.appid })
        .set('X-Admin-Key', ADMIN_KEY)
        .expect(200);
      expect(res.body.accessToken).not.toBe(before.body.accessToken);
      expect(h.fake.callsTo('/cgi-bin/stable_token')[1].body).toMatchObject({ force_refresh: true });
      const after = await getToken(app).expect(200);
      expect(after.body.accessToken).toBe(res.body.accessToken);
    });

    it('should refuse a second forced refresh within 30 seconds and after 20 a day', async () => {
      const refresh = () =>
        request(app.getHttpServer())
          .post('/admin/token/refresh')
          .query({ appid: OA_APP.appid })
          .set('X-Admin-Key', ADMIN_KEY);
      await refresh().expect(200);
      const again = await refresh().expect(429);
      expect(again.body).toEqual({
        statusCode: 429,
        error: 'too_many_requests',
        message: expect.stringContaining('30 seconds'),
      });
      await h.query(
        `UPDATE access_tokens SET force_refresh_count = 20, last_force_refresh_at = now() - interval '1 hour'`,
      );
      const spent = await refresh().expect(429);
      expect(spent.body.message).toContain('20');
      expect(h.fake.callCount('/cgi-bin/stable_token')).toBe(1);
    });
  });

  describe('failures', () => {
    it('should answer 401 without or with a wrong X-Admin-Key', async () => {
      await request(app.getHttpServer()).get('/admin/token').query({ appid: OA_APP.appid }).expect(401);
      const res = await request(app.getHttpServer())
        .get('/admin/token')
        .query({ appid: OA_APP.appid })
        .set('X-Admin-Key', `${ADMIN_KEY}x`)
        .expect(401);
      expect(res.body.error).toBe('unauthorized');
      expect(h.fake.calls).toHaveLength(0);
    });

    it('should answer 400 for a missing appid and 404 for an appid it does not serve', async () => {
      await request(app.getHttpServer()).get('/admin/token').set('X-Admin-Key', ADMIN_KEY).expect(400);
      const res = await getToken(app, 'wx0000000000000000').expect(404);
      expect(res.body.error).toBe('not_found');
    });

    it('should say the IP whitelist is missing on 40164', async () => {
      h.fake.inject('/cgi-bin/stable_token', { errcode: 40164, errmsg: 'invalid ip 1.2.3.4, not in whitelist' });
      const res = await getToken(app).expect(500);
      expect(res.body).toEqual({
        statusCode: 500,
        error: 'wechat_misconfigured',
        message: expect.stringMatching(/whitelist/i),
      });
      expect(res.body.message).not.toContain('1.2.3.4');
    });

    it('should say the daily quota is spent on 45009', async () => {
      h.fake.inject('/cgi-bin/stable_token', { errcode: 45009 });
      const res = await getToken(app).expect(503);
      expect(res.body).toMatchObject({ error: 'wechat_rate_limited', message: expect.stringMatching(/quota/i) });
    });

    it('should answer 500 wechat_misconfigured when the secret is wrong', async () => {
      const wrong = await h.startInstance({ WECHAT_OA_SECRET: 'not-the-secret' });
      try {
        const res = await getToken(wrong).expect(500);
        expect(res.body.error).toBe('wechat_misconfigured');
        expect(JSON.stringify(res.body)).not.toContain('not-the-secret');
      } finally {
        await wrong.close();
      }
    });

    it('should answer 502 when WeChat is down and store nothing', async () => {
      h.fake.inject('/cgi-bin/stable_token', { httpStatus: 502 });
      const res = await getToken(app).expect(502);
      expect(res.body.error).toBe('wechat_unavailable');
      expect((await h.query('SELECT count(*) FROM access_tokens'))[0].count).toBe('0');
    });

    it('should answer 503 naming the variable when the secret is not configured', async () => {
      const unconfigured = await h.startInstance({ WECHAT_MP_SECRET: undefined });
      try {
        const res = await getToken(unconfigured, MP_APP.appid).expect(503);
        expect(res.body).toEqual({
          statusCode: 503,
          error: 'not_configured',
          message: expect.stringContaining('WECHAT_MP_SECRET'),
        });
      } finally {
        await unconfigured.close();
      }
    });

    it('should answer 503 on admin routes when ADMIN_API_KEY is unset', async () => {
      const noAdmin = await h.startInstance({ ADMIN_API_KEY: undefined });
      try {
        const res = await getToken(noAdmin).expect(503);
        expect(res.body.message).toContain('ADMIN_API_KEY');
      } finally {
        await noAdmin.close();
      }
    });
  });
});
