import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import type { Server } from 'node:http';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client } from 'pg';
import request from 'supertest';
import { prepareLoginCode } from 'test/fake-wechat/routes/mini-program.routes';
import { ADMIN_KEY, Harness, OA_APP, startHarness } from 'test/support/create-test-app';
import { WebhookMode, WeChatSigner, wechatMessages } from 'test/support/wechat-signer';

const TOKEN = 'hardenToken9';
const AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const PUBLIC_BASE_URL = 'http://wx.example.test';

/** Sends raw bytes to the app's server and reads the answer until the server closes the connection. */
async function rawExchange(app: NestFastifyApplication, bytes: string): Promise<string> {
  const server = app.getHttpServer() as Server;
  if (!server.listening) {
    // Through the app, not the bare server: app.close() then closes the listener too.
    await app.listen(0, '127.0.0.1');
  }
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString('utf8')));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

const jsonBodyOf = (answer: string): unknown => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));

describe('Hardening (e2e): bad input is a 4xx, follower messages are never refused, clear messages', () => {
  let h: Harness;
  const signer = new WeChatSigner({ token: TOKEN, aesKey: AES_KEY, appId: OA_APP.appid });

  beforeAll(async () => {
    h = await startHarness({ WECHAT_OA_TOKEN: TOKEN, WECHAT_OA_AES_KEY: AES_KEY, PUBLIC_BASE_URL });
  });

  afterAll(async () => {
    await h.close();
  });

  beforeEach(() => {
    h.fake.clearFaults();
    h.fake.resetCalls();
  });

  const server = () => h.app.getHttpServer();
  const deliver = (xml: string, mode: WebhookMode = 'plain') => {
    const signed = signer.sign(xml, mode);
    return request(server())
      .post('/wechat/webhook')
      .query(signed.query)
      .set('Content-Type', 'text/xml')
      .send(signed.body);
  };
  const recorded = async (fromUser: string) =>
    Number(
      (await h.query('SELECT count(*) FROM wechat_inbound_messages WHERE from_user_name = $1', [fromUser]))[0].count,
    );
  const login = async (openid: string) =>
    (
      await request(server())
        .post('/miniprogram/login')
        .send({ code: prepareLoginCode(h.fake, { openid }) })
        .expect(200)
    ).body.token as string;
  const admin = () => ({
    post: (path: string) => request(server()).post(path).set('X-Admin-Key', ADMIN_KEY),
  });
  const badRequest = (message: RegExp | string) => ({
    statusCode: 400,
    error: 'bad_request',
    message: typeof message === 'string' ? message : expect.stringMatching(message),
  });

  describe('bad input never gives a 5xx', () => {
    it('should refuse JSON nested 2,000 levels deep with 400, on any JSON route', async () => {
      const deep = `{"code":${'['.repeat(2000)}${']'.repeat(2000)}}`;
      for (const path of ['/miniprogram/login', '/admin/auto-replies']) {
        const res = await request(server())
          .post(path)
          .set('X-Admin-Key', ADMIN_KEY)
          .set('Content-Type', 'application/json')
          .send(deep)
          .expect(400);
        expect(res.body).toEqual(badRequest(/nested more than 32 levels/));
      }
      expect(h.fake.callCount('/sns/jscode2session')).toBe(0);
    });

    it('should refuse a NUL in a nickname, a rule keyword or a reply with 400 naming the field, storing nothing', async () => {
      const token = await login('o-nul-nickname');
      const profile = await request(server())
        .post('/miniprogram/profile')
        .set('Authorization', `Bearer ${token}`)
        .send({ nickname: 'a\u0000b' })
        .expect(400);
      expect(profile.body).toEqual(badRequest(/^nickname must not contain a NUL/));
      const keyword = await admin()
        .post('/admin/auto-replies')
        .send({ match: 'exact', keyword: 'k\u0000', reply: { type: 'text', content: 'x' } })
        .expect(400);
      expect(keyword.body).toEqual(badRequest(/^keyword must not contain a NUL/));
      const reply = await admin()
        .post('/admin/auto-replies')
        .send({ match: 'exact', keyword: 'nul-reply', reply: { type: 'text', content: 'x\u0000' } })
        .expect(400);
      expect(reply.body).toEqual(badRequest(/^reply\.content must not contain a NUL/));
      expect(await h.query(`SELECT 1 FROM wechat_auto_reply_rules WHERE keyword = 'nul-reply'`)).toEqual([]);
    });

    it('should refuse a login code with a lone surrogate with 400, without calling WeChat', async () => {
      const res = await request(server())
        .post('/miniprogram/login')
        .set('Content-Type', 'application/json')
        .send('{"code":"abc\\ud800def"}')
        .expect(400);
      expect(res.body).toEqual(badRequest(/^code must be valid Unicode text/));
      expect(h.fake.callCount('/sns/jscode2session')).toBe(0);
    });

    it('should refuse webhook XML with a raw NUL byte with 400 and record nothing', async () => {
      const res = await deliver(wechatMessages.text('a\u0000b', { from: 'o-nul-byte' })).expect(400);
      expect(res.body).toEqual(badRequest(/NUL/));
      expect(await recorded('o-nul-byte')).toBe(0);
    });

    it("should answer headers over 16 KiB with 431 in the contract's shape", async () => {
      const answer = await rawExchange(
        h.app,
        `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`,
      );
      expect(answer).toMatch(/^HTTP\/1.1 431 /);
      expect(jsonBodyOf(answer)).toEqual({ statusCode: 431, error: 'headers_too_large', message: expect.any(String) });
    });

    it("should answer a malformed request line with 400 in the contract's shape", async () => {
      const answer = await rawExchange(h.app, 'GET /health HTTP/9.9 what\r\n\r\n');
      expect(answer).toMatch(/^HTTP\/1.1 400 /);
      expect(jsonBodyOf(answer)).toEqual({ statusCode: 400, error: 'bad_request', message: expect.any(String) });
      expect(answer).not.toContain('FST_');
    });

    it("should answer a 3,000-character path with 414 in the contract's shape, not echoing it", async () => {
      const long = 'p'.repeat(3000);
      const res = await request(server()).get(`/admin/auto-replies/${long}`).set('X-Admin-Key', ADMIN_KEY);
      expect(res.status).toBe(414);
      expect(res.body).toEqual({ statusCode: 414, error: 'uri_too_long', message: expect.any(String) });
      expect(res.text).not.toContain(long);
    });
  });

  describe('a follower message is never refused for what it says', () => {
    it.each<WebhookMode>(['plain', 'compat', 'safe'])(
      'should record and answer a text reading <!DOCTYPE html> or mentioning <!ENTITY (%s mode)',
      async (mode) => {
        const from = `o-doctype-${mode}`;
        await deliver(wechatMessages.text('<!DOCTYPE html><html></html>', { from }), mode).expect(200);
        await deliver(wechatMessages.text('what is <!ENTITY x "y"> for?', { from }), mode).expect(200);
        expect(await recorded(from)).toBe(2);
      },
    );

    it('should still refuse a declaration in the prolog', async () => {
      await deliver(`<!DOCTYPE x>${wechatMessages.text('x', { from: 'o-prolog' })}`).expect(400);
      expect(await recorded('o-prolog')).toBe(0);
    });
  });

  describe('validation messages say the real reason', () => {
    it.each([
      ['a missing code', {}, 'code must be a string'],
      ['a numeric code', { code: 42 }, 'code must be a string'],
      ['an empty code', { code: '' }, 'code must not be empty'],
      ['a long code', { code: 'c'.repeat(129) }, 'code must be shorter than or equal to 128 characters'],
    ])('should say so for %s', async (_case, body, message) => {
      const res = await request(server()).post('/miniprogram/login').send(body).expect(400);
      expect(res.body).toEqual(badRequest(message));
    });

    it('should name the real reason and the right path in auto-reply rules', async () => {
      const numeric = await admin()
        .post('/admin/auto-replies')
        .send({ match: 'exact', keyword: 'k', reply: { type: 'text', content: 5 } })
        .expect(400);
      expect(numeric.body).toEqual(badRequest('reply.content must be a string'));
      const click = await admin()
        .post('/admin/auto-replies')
        .send({ event: 'CLICK', reply: { type: 'text', content: 'x' } })
        .expect(400);
      expect(click.body).toEqual(badRequest('eventKey must be a string'));
      const type = await admin()
        .post('/admin/auto-replies')
        .send({ match: 'exact', keyword: 'k', reply: { type: 'gif' } })
        .expect(400);
      expect(type.body).toEqual(badRequest(/^reply\.type must be one of/));
      const articles = await admin()
        .post('/admin/auto-replies')
        .send({ match: 'exact', keyword: 'k', reply: { type: 'news', articles: [] } })
        .expect(400);
      expect(articles.body).toEqual(badRequest('reply.articles must hold 1 to 8 articles'));
    });

    it('should answer a JSON body in another charset with 415', async () => {
      const res = await request(server())
        .post('/miniprogram/login')
        .set('Content-Type', 'application/json; charset=latin1')
        .send('{"code":"x"}')
        .expect(415);
      expect(res.body).toEqual({ statusCode: 415, error: 'unsupported_media_type', message: expect.any(String) });
    });
  });

  describe('smaller hardening', () => {
    it('should answer 503 database_unavailable within 5 s when a locked table holds a request', async () => {
      const token = await login('o-locked');
      const locker = new Client({ connectionString: h.db.url });
      await locker.connect();
      try {
        await locker.query('BEGIN');
        await locker.query('LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
        const started = Date.now();
        const res = await request(server()).get('/api/me').set('Authorization', `Bearer ${token}`);
        expect(res.status).toBe(503);
        expect(res.body).toEqual({ statusCode: 503, error: 'database_unavailable', message: expect.any(String) });
        expect(Date.now() - started).toBeLessThan(6000);
      } finally {
        await locker.query('ROLLBACK');
        await locker.end();
      }
      await request(server()).get('/api/me').set('Authorization', `Bearer ${token}`).expect(200);
    });

    it('should send X-Content-Type-Options: nosniff on every answer, lane and framework, success and error', async () => {
      const answers = [
        await deliver(wechatMessages.text('nosniff')),
        await request(server()).post('/wechat/webhook').send('x'),
        await request(server()).get('/health'),
        await request(server()).get('/no/such/route'),
        await request(server()).get('/'),
      ];
      for (const answer of answers) {
        expect(answer.headers['x-content-type-options']).toBe('nosniff');
      }
    });

    it('should refuse a cookie-authenticated POST from another site with 403, and take our own', async () => {
      const token = await login('o-origin');
      const evil = await request(server())
        .post('/api/logout')
        .set('Cookie', `sid=${token}`)
        .set('Origin', 'https://evil.example')
        .expect(403);
      expect(evil.body).toEqual({ statusCode: 403, error: 'forbidden', message: expect.any(String) });
      await request(server()).get('/api/me').set('Cookie', `sid=${token}`).expect(200);
      // A Bearer token is never sent by a browser on its own: no Origin check.
      await request(server())
        .post('/miniprogram/profile')
        .set('Authorization', `Bearer ${token}`)
        .set('Origin', 'https://evil.example')
        .send({ nickname: 'ok' })
        .expect(200);
      await request(server())
        .post('/api/logout')
        .set('Cookie', `sid=${token}`)
        .set('Origin', PUBLIC_BASE_URL)
        .expect(204);
    });

    it('should answer /favicon.ico with 204', async () => {
      await request(server()).get('/favicon.ico').expect(204);
    });
  });

  describe('newcomer fixes', () => {
    it('should offer 退出登录 and 更新微信资料 as buttons on the home page, which work', async () => {
      const token = await login('o-home');
      const home = await request(server()).get('/').set('Cookie', `sid=${token}`).expect(200);
      expect(home.text).toContain('<form method="post" action="/logout">');
      expect(home.text).toContain('<form method="post" action="/me/sync">');
      // A mini-program user has no web authorization to refresh from: off to a new one.
      const sync = await request(server())
        .post('/me/sync')
        .set('Cookie', `sid=${token}`)
        .set('Origin', PUBLIC_BASE_URL);
      expect(sync.status).toBe(303);
      expect(sync.headers.location).toBe('/oauth/authorize?scope=snsapi_userinfo&returnTo=%2F');
      const logout = await request(server())
        .post('/logout')
        .set('Cookie', `sid=${token}`)
        .set('Origin', PUBLIC_BASE_URL);
      expect(logout.status).toBe(303);
      expect(logout.headers.location).toBe('/');
      await request(server()).get('/api/me').set('Cookie', `sid=${token}`).expect(401);
    });

    it('should describe the error body on every route, the admin key on admin routes, and no JWT', async () => {
      const { body } = await request(server()).get('/docs/json').expect(200);
      expect(body.components.schemas.ErrorBody.required).toEqual(['statusCode', 'error', 'message']);
      for (const [path, item] of Object.entries<Record<string, { responses: object; security?: unknown }>>(
        body.paths,
      )) {
        for (const operation of Object.values(item)) {
          expect({ path, error: operation.responses }).toEqual({
            path,
            error: expect.objectContaining({ default: expect.anything() }),
          });
          if (path.startsWith('/admin/')) {
            expect({ path, security: operation.security }).toEqual({ path, security: [{ admin: [] }] });
          }
        }
      }
      expect(body.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer' });
    });

    it("should have the emulator's reset restore the OAuth mode, and its user control change /sns/userinfo at once", async () => {
      const control = (path: string, payload: object) =>
        fetch(`${h.fake.url}/__control/${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(payload),
        }).then((res) => res.json() as Promise<Record<string, unknown>>);
      await control('oauth/user', { openid: 'o-emulator-user', nickname: '小红' });
      const { code } = (await control('oauth/code', { scope: 'snsapi_userinfo' })) as { code: string };
      const token = (await fetch(
        `${h.fake.url}/sns/oauth2/access_token?appid=${OA_APP.appid}&secret=${OA_APP.secret}&code=${code}&grant_type=authorization_code`,
      ).then((res) => res.json())) as { access_token: string; openid: string };
      const userinfo = () =>
        fetch(`${h.fake.url}/sns/userinfo?access_token=${token.access_token}&openid=${token.openid}&lang=zh_CN`).then(
          (res) => res.json() as Promise<{ nickname: string }>,
        );
      expect((await userinfo()).nickname).toBe('小红');
      await control('oauth/user', { openid: 'o-emulator-user', nickname: '小蓝' });
      expect((await userinfo()).nickname).toBe('小蓝');

      await control('oauth/mode', { mode: 'deny' });
      await control('reset', {});
      const page = await fetch(
        `${h.fake.url}/connect/oauth2/authorize?appid=${OA_APP.appid}&redirect_uri=${encodeURIComponent(`${PUBLIC_BASE_URL}/oauth/callback`)}&response_type=code&scope=snsapi_userinfo&state=s#wechat_redirect`,
        { redirect: 'manual' },
      );
      // The consent page again (mode "page"), not the refusal's redirect.
      expect(page.status).toBe(200);
    });
  });
});
