import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { CHANGE_CHANNEL } from 'src/database/change-feed';
import { jssdkSignature } from 'src/wechat/crypto/jssdk-signature';
import { checkWxConfig, currentTicket, invalidateTickets } from 'test/fake-wechat/routes/ticket.routes';
import { invalidateTokens } from 'test/fake-wechat/routes/token.routes';
import { ADMIN_KEY, Harness, MP_APP, OA_APP, startHarness } from 'test/support/create-test-app';

const GETTICKET = '/cgi-bin/ticket/getticket';
const STABLE_TOKEN = '/cgi-bin/stable_token';
const PAGE = 'https://h5.example.com/shop/index.html?from=singlemessage&isappinstalled=0';

describe('JS-SDK tickets and wx.config (e2e)', () => {
  let h: Harness;
  let instances: NestFastifyApplication[];

  beforeAll(async () => {
    h = await startHarness({ JSSDK_ALLOWED_HOSTS: 'h5.example.com,localhost:8080' });
    instances = [h.app, await h.startInstance(), await h.startInstance()];
  });

  afterAll(async () => {
    await h.close();
  });

  beforeEach(() => {
    h.fake.clearFaults();
    h.fake.resetCalls();
  });

  const getTicket = (app: NestFastifyApplication, query: Record<string, string> = {}) =>
    request(app.getHttpServer())
      .get('/admin/ticket')
      .query({ appid: OA_APP.appid, type: 'jsapi', ...query })
      .set('X-Admin-Key', ADMIN_KEY);
  const config = (app: NestFastifyApplication, query: Record<string, string>, origin?: string) => {
    const req = request(app.getHttpServer()).get('/jssdk/config').query(query);
    return origin ? req.set('Origin', origin) : req;
  };
  /** What WeChat's client would say of this wx.config on the page `url`: null when it accepts it. */
  const verdict = (body: Record<string, unknown>, url: string) =>
    checkWxConfig(h.fake, {
      appId: body.appId as string,
      timestamp: body.timestamp as number,
      nonceStr: body.nonceStr as string,
      signature: body.signature as string,
      url,
    });
  const reportRejected = (app: NestFastifyApplication, ticket: string) =>
    request(app.getHttpServer())
      .post('/admin/ticket/rejected')
      .query({ appid: OA_APP.appid, type: 'jsapi' })
      .set('X-Admin-Key', ADMIN_KEY)
      .send({ ticket });

  /** Deletes stored rows (of `kind`, else all) as if they had never been fetched, and tells every instance. */
  const forget = async (kind?: string) => {
    await h.query(
      `WITH gone AS (DELETE FROM access_tokens WHERE $1::text IS NULL OR kind = $1 RETURNING appid, kind)
       SELECT pg_notify($2, json_build_object('topic', 'token', 'key', kind || ':' || appid, 'detail', 'dropped')::text)
       FROM gone`,
      [kind ?? null, CHANGE_CHANNEL],
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
  };

  describe('tickets', () => {
    beforeEach(async () => {
      await forget('jsapi_ticket');
      invalidateTickets(h.fake, OA_APP.appid);
    });

    it('should fetch the ticket once for 90 concurrent requests on three instances with a cold cache', async () => {
      await forget();
      h.fake.inject(GETTICKET, { delayMs: 300 });
      const results = await Promise.all(
        Array.from({ length: 90 }, (_, i) =>
          i % 2 ? getTicket(instances[i % 3]) : config(instances[i % 3], { url: PAGE }),
        ),
      );
      expect(results.map((res) => res.status)).toEqual(Array(90).fill(200));
      expect(h.fake.callCount(GETTICKET)).toBe(1);
      expect(h.fake.callCount(STABLE_TOKEN)).toBe(1);
      const tickets = new Set(results.filter((_, i) => i % 2).map((res) => res.body.ticket));
      expect([...tickets]).toEqual([currentTicket(h.fake, OA_APP.appid)?.ticket]);
      const answer = results[1].body;
      expect(answer).toEqual({
        appid: OA_APP.appid,
        type: 'jsapi',
        ticket: expect.any(String),
        expiresAt: expect.any(String),
      });
      const lifetime = new Date(answer.expiresAt).getTime() - Date.now();
      expect(lifetime).toBeGreaterThan(7100_000);
      expect(lifetime).toBeLessThanOrEqual(7200_000);
      const rows = await h.query<{ access_token_sealed: string }>(
        `SELECT access_token_sealed FROM access_tokens WHERE kind = 'jsapi_ticket'`,
      );
      expect(rows).toHaveLength(1);
      expect(rows[0].access_token_sealed).not.toContain(answer.ticket);
    });

    it('should re-fetch a ticket invalidated upstream once, however many instances report it, and tell the others', async () => {
      const old = (await getTicket(instances[0]).expect(200)).body.ticket as string;
      await Promise.all(instances.map((app) => getTicket(app).expect(200)));
      invalidateTickets(h.fake, OA_APP.appid);
      const stale = (await config(instances[1], { url: PAGE }).expect(200)).body;
      expect(verdict(stale, PAGE)).toMatch(/invalid signature/);
      h.fake.resetCalls();
      const reports = await Promise.all(Array.from({ length: 30 }, (_, i) => reportRejected(instances[i % 3], old)));
      expect(reports.map((res) => res.status)).toEqual(Array(30).fill(200));
      expect(new Set(reports.map((res) => res.body.ticket)).size).toBe(1);
      expect(reports[0].body.ticket).not.toBe(old);
      expect(h.fake.callCount(GETTICKET)).toBe(1);
      // Every instance signs with the new ticket at once (the notification arrived with the answer or before).
      const started = Date.now();
      for (const app of instances) {
        for (;;) {
          const body = (await config(app, { url: PAGE }).expect(200)).body;
          if (verdict(body, PAGE) === null) {
            break;
          }
          expect(Date.now() - started).toBeLessThan(1000);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
      expect(h.fake.callCount(GETTICKET)).toBe(1);
    });

    it('should drop a stale access token met by the ticket fetch and retry it once', async () => {
      await getTicket(instances[0]).expect(200);
      await forget('jsapi_ticket');
      invalidateTokens(h.fake, OA_APP.appid);
      h.fake.resetCalls();
      const res = await getTicket(instances[2]).expect(200);
      expect(res.body.ticket).toBe(currentTicket(h.fake, OA_APP.appid)?.ticket);
      expect(h.fake.callCount(GETTICKET)).toBe(2);
      expect(h.fake.callCount(STABLE_TOKEN)).toBe(1);
    });

    it('should refuse what is no official account, and types other than jsapi', async () => {
      const mp = await getTicket(instances[0], { appid: MP_APP.appid }).expect(404);
      expect(mp.body.error).toBe('not_found');
      await getTicket(instances[0], { appid: 'wx0000000000000000' }).expect(404);
      const card = await getTicket(instances[0], { type: 'wx_card' }).expect(400);
      expect(card.body).toMatchObject({ error: 'bad_request', message: expect.stringContaining('type') });
      const none = await request(instances[0].getHttpServer())
        .get('/admin/ticket')
        .query({ appid: OA_APP.appid })
        .set('X-Admin-Key', ADMIN_KEY)
        .expect(400);
      expect(none.body.message).toContain('type');
      await request(instances[0].getHttpServer())
        .get('/admin/ticket')
        .query({ appid: OA_APP.appid, type: 'jsapi' })
        .expect(401);
      expect(h.fake.callCount(GETTICKET)).toBe(0);
    });
  });

  describe('GET /jssdk/config', () => {
    it('should sign the page so that WeChat accepts the wx.config, for the default account', async () => {
      const before = Math.floor(Date.now() / 1000);
      const res = await config(instances[0], { url: PAGE }).expect(200);
      expect(res.body).toEqual({
        appId: OA_APP.appid,
        timestamp: expect.any(Number),
        nonceStr: expect.stringMatching(/^[0-9A-Za-z]{8,32}$/),
        signature: expect.stringMatching(/^[0-9a-f]{40}$/),
      });
      expect(res.body.timestamp).toBeGreaterThanOrEqual(before);
      expect(res.body.timestamp).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
      expect(verdict(res.body, PAGE)).toBeNull();
      const explicit = await config(instances[1], { url: PAGE, appid: OA_APP.appid }).expect(200);
      expect(verdict(explicit.body, PAGE)).toBeNull();
      expect(res.headers['cache-control']).toBe('no-store');
    });

    it('should sign the url without its #fragment and with its query byte for byte', async () => {
      const page = 'https://h5.example.com/a?b=%E4%BD%A0&c=1&&d';
      const res = await config(instances[0], { url: `${page}#/route?x=1` }).expect(200);
      expect(verdict(res.body, page)).toBeNull();
      const ticket = currentTicket(h.fake, OA_APP.appid)!.ticket;
      expect(res.body.signature).toBe(
        jssdkSignature({ jsapiTicket: ticket, nonceStr: res.body.nonceStr, timestamp: res.body.timestamp, url: page }),
      );
      expect(verdict(res.body, 'https://h5.example.com/a?b=你&c=1&&d')).not.toBeNull();
    });

    it.each([
      ['a host not allowed', 'https://evil.example.com/'],
      ['an allowed host on another port', 'https://h5.example.com:8443/'],
      ['a look-alike host', 'https://h5.example.com.evil.com/'],
      ['user info', 'https://h5.example.com@evil.com/'],
      ['javascript:', 'javascript:alert(1)//h5.example.com/'],
      ['file:', 'file:///etc/passwd'],
      ['a relative url', '/shop/index.html'],
      ['no url', ''],
    ])('should answer 400 bad_request for %s', async (_label, url) => {
      const res = await config(instances[0], url ? { url } : {}).expect(400);
      expect(res.body).toMatchObject({
        statusCode: 400,
        error: 'bad_request',
        message: expect.stringContaining('url'),
      });
    });

    it('should allow a host:port entry and answer 404 for an appid that is no official account', async () => {
      const res = await config(instances[0], { url: 'http://localhost:8080/dev?x=1' }).expect(200);
      expect(verdict(res.body, 'http://localhost:8080/dev?x=1')).toBeNull();
      await config(instances[0], { url: PAGE, appid: MP_APP.appid }).expect(404);
      await config(instances[0], { url: PAGE, appid: 'wx0000000000000000' }).expect(404);
    });

    it('should echo an allowed page origin in Access-Control-Allow-Origin, never *, and vary by Origin', async () => {
      const allowed = await config(instances[0], { url: PAGE }, 'https://h5.example.com').expect(200);
      expect(allowed.headers['access-control-allow-origin']).toBe('https://h5.example.com');
      expect(allowed.headers.vary).toMatch(/Origin/);
      const dev = await config(instances[0], { url: PAGE }, 'http://localhost:8080').expect(200);
      expect(dev.headers['access-control-allow-origin']).toBe('http://localhost:8080');
      for (const origin of ['https://evil.example.com', 'null', 'https://h5.example.com:8443', '*']) {
        const refused = await config(instances[0], { url: PAGE }, origin).expect(200);
        expect(refused.headers['access-control-allow-origin']).toBeUndefined();
        expect(refused.headers.vary).toMatch(/Origin/);
      }
      const bad = await config(instances[0], { url: 'https://evil.example.com/' }, 'https://h5.example.com').expect(
        400,
      );
      expect(bad.headers['access-control-allow-origin']).toBe('https://h5.example.com');
    });

    it('should be documented in the OpenAPI document', async () => {
      const res = await request(instances[0].getHttpServer()).get('/docs/json').expect(200);
      expect(Object.keys(res.body.paths)).toEqual(expect.arrayContaining(['/jssdk/config', '/admin/ticket']));
      expect(res.body.paths['/jssdk/config'].get.parameters.map((p: { name: string }) => p.name)).toEqual(
        expect.arrayContaining(['url', 'appid']),
      );
    });
  });
});
