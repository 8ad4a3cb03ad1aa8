import { randomBytes } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { setAuthorizeMode, setOAuthUser } from 'test/fake-wechat/routes/oauth.routes';
import { qrState, scanQrCode, ScanSpec } from 'test/fake-wechat/routes/qrcode.routes';
import { sendToWebhook } from 'test/fake-wechat/webhook-sender';
import { ADMIN_KEY, Harness, OA_APP, startHarness } from 'test/support/create-test-app';
import { freePort } from 'test/support/free-port';
import { openSse, TestBrowser } from 'test/support/qr-login';
import { toXml } from 'test/support/wechat-signer';

const TOKEN = 'qrLoginToken42';
const AES_KEY = 'Q7r8L9o0g1i2n3K4e5y6Z7a8b9c0d1e2f3g4h5i6j7k';
const WELCOME = '欢迎关注演示公众号';

interface Created {
  id: string;
  qrUrl: string;
  qrImage: string;
  expiresAt: string;
  eventsUrl: string;
  pollUrl: string;
}

describe('QrLoginModule (e2e)', () => {
  let h: Harness;
  let base: string;
  let second: NestFastifyApplication;
  let secondBase: string;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://localhost:${port}`;
    h = await startHarness({
      PUBLIC_BASE_URL: base,
      WECHAT_OA_TOKEN: TOKEN,
      WECHAT_OA_AES_KEY: AES_KEY,
      WECHAT_OA_WELCOME_TEXT: WELCOME,
    });
    await h.app.listen(port, '127.0.0.1');
    const port2 = await freePort();
    secondBase = `http://localhost:${port2}`;
    second = await h.startInstance();
    await second.listen(port2, '127.0.0.1');
    qrState(h.fake).servers.set(OA_APP.appid, { url: `${base}/wechat/webhook`, token: TOKEN, aesKey: AES_KEY });
  });

  afterAll(async () => {
    await h?.close();
  });

  beforeEach(() => {
    h.fake.clearFaults();
    h.fake.resetCalls();
    h.fake.clockOffsetMs = 0;
    setAuthorizeMode(h.fake, 'approve');
  });

  /** A desktop browser starting an attempt on `at`. */
  async function start(desktop = new TestBrowser(), body: Record<string, unknown> = {}, at = base) {
    const res = await desktop.postJson(`${at}/qr-login`, body);
    expect(res.status).toBe(201);
    return { desktop, created: JSON.parse(res.text) as Created, res };
  }

  const sceneOf = (created: Created) => qrState(h.fake).byUrl.get(created.qrUrl)!.scene;
  const ticketOf = (created: Created) => qrState(h.fake).byUrl.get(created.qrUrl)!.ticket;

  async function scan(created: Created, openid: string, extra: Partial<ScanSpec> = {}) {
    const result = await scanQrCode(h.fake, { ticket: ticketOf(created), openid, as: 'scan', ...extra });
    if (!result.ok) {
      throw new Error(result.error);
    }
    return result;
  }

  const storedStatus = async (id: string) =>
    (await h.query<{ status: string }>('SELECT status FROM qr_login_attempts WHERE id = $1', [id]))[0]?.status;

  const read = async (desktop: TestBrowser, created: Created, at = base) => {
    const res = await desktop.get(`${at}${created.pollUrl}`);
    return { res, body: res.status === 200 ? (JSON.parse(res.text) as { status: string; returnTo?: string }) : null };
  };

  /** The phone (WeChat's browser of `openid`) opens the confirmation link, authorizing silently on the way. */
  async function openConfirm(created: Created, openid: string, phone = new TestBrowser()) {
    setOAuthUser(h.fake, { openid });
    const page = await phone.get(`${base}/qr-login/${created.id}/confirm`);
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)?.[1];
    return { phone, page, csrf };
  }

  async function tap(created: Created, openid: string, action: 'confirm' | 'cancel') {
    const { phone, page, csrf } = await openConfirm(created, openid);
    expect(page.status).toBe(200);
    const answer = await phone.postForm(`${base}/qr-login/${created.id}/confirm`, { action, csrf: csrf! });
    return { phone, page, answer };
  }

  const newOpenid = () => `o-qr-${randomBytes(6).toString('hex')}`;

  describe('POST /qr-login', () => {
    it('should create a QR_STR_SCENE code of 300 s with a fresh login scene and answer the attempt', async () => {
      const { created, res } = await start(new TestBrowser(), { returnTo: '/orders?tab=paid' });
      expect(created).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        qrUrl: expect.stringMatching(/^http:\/\/weixin\.qq\.com\/q\/\w+$/),
        qrImage: expect.stringMatching(/^data:image\/svg\+xml;base64,/),
        expiresAt: expect.any(String),
        eventsUrl: `/qr-login/${created.id}/events`,
        pollUrl: `/qr-login/${created.id}`,
      });
      const left = Date.parse(created.expiresAt) - Date.now();
      expect(left).toBeGreaterThan(295_000);
      expect(left).toBeLessThanOrEqual(301_000);
      const svg = Buffer.from(created.qrImage.split(',')[1], 'base64').toString('utf8');
      expect(svg).toMatch(/^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      expect(svg).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
      const [call] = h.fake.callsTo('/cgi-bin/qrcode/create');
      expect(call.body).toEqual({
        expire_seconds: 300,
        action_name: 'QR_STR_SCENE',
        action_info: { scene: { scene_str: expect.stringMatching(/^login_[0-9a-f]{32}$/) } },
      });
      expect(call.query.access_token).toBeTruthy();
      expect(h.fake.callCount('/cgi-bin/showqrcode')).toBe(0);
      const cookie = res.headers.getSetCookie().find((line) => line.startsWith('wx_qr='))!;
      expect(cookie).toMatch(/; Path=\/qr-login/);
      expect(cookie).toMatch(/; HttpOnly/);
      expect(cookie).toMatch(/; SameSite=Lax/);
      expect(cookie).not.toMatch(/Secure/);
      const [row] = await h.query<Record<string, string>>('SELECT * FROM qr_login_attempts WHERE id = $1', [
        created.id,
      ]);
      const key = decodeURIComponent(cookie.split(';')[0].slice('wx_qr='.length));
      expect(row).toMatchObject({
        appid: OA_APP.appid,
        status: 'pending',
        return_to: '/orders?tab=paid',
        openid: null,
      });
      expect(row.browser_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(row.browser_hash).not.toContain(key);
      expect(row.scene).toBe(
        (call.body as { action_info: { scene: { scene_str: string } } }).action_info.scene.scene_str,
      );
    });

    it('should give every attempt its own scene and keep one browser key for one browser', async () => {
      const desktop = new TestBrowser();
      const first = await start(desktop);
      const key = desktop.jar.get(base, 'wx_qr');
      const again = await start(desktop);
      expect(desktop.jar.get(base, 'wx_qr')).toBe(key);
      expect(sceneOf(again.created)).not.toBe(sceneOf(first.created));
      expect((await read(desktop, first.created)).body).toEqual({ status: 'pending' });
      expect((await read(desktop, again.created)).body).toEqual({ status: 'pending' });
    });

    it('should keep only a same-site returnTo', async () => {
      for (const unsafe of ['//evil.example', 'https://evil.example/', '/\\evil', '/%2F%2Fevil']) {
        const { created } = await start(new TestBrowser(), { returnTo: unsafe });
        const [row] = await h.query<{ return_to: string }>('SELECT return_to FROM qr_login_attempts WHERE id = $1', [
          created.id,
        ]);
        expect(row.return_to).toBe('/');
      }
    });

    it('should answer 404 for an appid that is no official account here and 400 for a non-string one', async () => {
      const unknown = await new TestBrowser().postJson(`${base}/qr-login`, { appid: 'wx00000000000000ff' });
      expect(unknown.status).toBe(404);
      expect(JSON.parse(unknown.text)).toMatchObject({ statusCode: 404, error: 'not_found' });
      const bad = await new TestBrowser().postJson(`${base}/qr-login`, { appid: 42 });
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.text)).toMatchObject({ error: 'bad_request', message: expect.stringContaining('appid') });
      expect(h.fake.callCount('/cgi-bin/qrcode/create')).toBe(0);
    });

    it('should say a verified service account is needed when WeChat refuses the API (48001), storing nothing', async () => {
      const before = await h.query<{ count: string }>('SELECT count(*) FROM qr_login_attempts');
      h.fake.inject('/cgi-bin/qrcode/create', { errcode: 48001, errmsg: 'api unauthorized' });
      const res = await new TestBrowser().postJson(`${base}/qr-login`, {});
      expect(res.status).toBe(500);
      expect(JSON.parse(res.text)).toMatchObject({
        error: 'wechat_misconfigured',
        message: expect.stringContaining('服务号'),
      });
      expect(res.text).not.toContain('api unauthorized');
      expect(await h.query('SELECT count(*) FROM qr_login_attempts')).toEqual(before);
    });

    it('should answer 502 wechat_unavailable when WeChat is down', async () => {
      h.fake.inject('/cgi-bin/qrcode/create', { httpStatus: 503 });
      const res = await new TestBrowser().postJson(`${base}/qr-login`, {});
      expect(res.status).toBe(502);
      expect(JSON.parse(res.text)).toMatchObject({ error: 'wechat_unavailable' });
    });

    it('should retry once with a fresh token when WeChat calls the token stale', async () => {
      await start();
      h.fake.resetCalls();
      h.fake.inject('/cgi-bin/qrcode/create', { errcode: 40001 });
      await start();
      expect(h.fake.callCount('/cgi-bin/qrcode/create')).toBe(2);
    });

    it('should set the binding cookie Secure on an https PUBLIC_BASE_URL', async () => {
      const https = await h.startInstance({ PUBLIC_BASE_URL: 'https://wx.example.test' });
      const res = await request(https.getHttpServer()).post('/qr-login').send({}).expect(201);
      const cookie = (res.headers['set-cookie'] as unknown as string[]).find((line) => line.startsWith('wx_qr='));
      expect(cookie).toMatch(/; Secure/);
      await https.close();
    });
  });

  describe('GET /qr-login/:id', () => {
    it('should answer 404 to another browser, to no cookie, to an unknown id and to a malformed one', async () => {
      const { created } = await start();
      const other = new TestBrowser();
      await start(other);
      expect((await read(other, created)).res.status).toBe(404);
      expect((await read(new TestBrowser(), created)).res.status).toBe(404);
      const unknown = await other.get(`${base}/qr-login/00000000-0000-4000-8000-000000000000`);
      expect(unknown.status).toBe(404);
      expect(JSON.parse(unknown.text)).toMatchObject({ statusCode: 404, error: 'not_found' });
      expect((await other.get(`${base}/qr-login/not-an-id`)).status).toBe(404);
      const stream = await request(h.app.getHttpServer()).get(`/qr-login/${created.id}/events`);
      expect(stream.status).toBe(404);
    });
  });

  describe('the whole flow (QR_LOGIN_CONFIRM=tap)', () => {
    it('should go pending → scanned → confirmed, log the desktop in once, and land on returnTo', async () => {
      const { desktop, created } = await start(new TestBrowser(), { returnTo: '/dashboard' });
      const stream = await openSse(`${base}${created.eventsUrl}`, desktop.jar.header(base));
      expect(stream.status).toBe(200);
      expect(stream.contentType).toMatch(/^text\/event-stream/);
      await stream.waitForStatus('pending');
      const openid = newOpenid();

      const scanned = await scan(created, openid, { as: 'scan' });
      expect(scanned.event).toBe('SCAN');
      expect(scanned.delivery.status).toBe(200);
      expect(scanned.delivery.reply).toContain(`<a href="${base}/qr-login/${created.id}/confirm">确认登录</a>`);
      expect(scanned.delivery.body).toContain('<Encrypt>');
      await stream.waitForStatus('scanned');
      expect((await read(desktop, created)).body).toEqual({ status: 'scanned' });

      const { page, answer } = await tap(created, openid, 'confirm');
      expect(page.text).toContain('确认登录');
      expect(page.text).toContain('取消');
      expect(page.text).toMatch(/北京时间/);
      expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
      expect(answer.status).toBe(200);
      expect(answer.text).toContain('已确认登录');
      await stream.waitForStatus('confirmed');
      await stream.closed;
      expect(stream.statuses()).toEqual(['pending', 'scanned', 'confirmed']);

      const first = await read(desktop, created);
      expect(first.body).toEqual({ status: 'confirmed', returnTo: '/dashboard' });
      const sid = first.res.headers.getSetCookie().find((line) => line.startsWith('sid='))!;
      expect(sid).toMatch(/; Max-Age=2592000; Path=\/; Expires=[^;]+; HttpOnly; SameSite=Lax$/);
      const me = await desktop.get(`${base}/api/me`);
      expect(JSON.parse(me.text).identities).toEqual([
        { appid: OA_APP.appid, openid, source: 'official_account', subscribed: true },
      ]);

      const later = await read(desktop, created);
      expect(later.body).toEqual({ status: 'confirmed' });
      expect(later.res.headers.getSetCookie().some((line) => line.startsWith('sid='))).toBe(false);

      const metrics = await (await fetch(`${base}/metrics`)).text();
      for (const outcome of ['created', 'scan_scanned', 'phone_confirmed', 'logged_in']) {
        expect(metrics).toMatch(new RegExp(`qr_login_attempts_total\\{outcome="${outcome}"\\} [1-9]`));
      }
    });

    it('should log in through an API official account: its QR code, its webhook path, its silent authorization', async () => {
      const brand = { appid: 'wxqrbrand00000001', secret: 'qr-brand-secret-1', token: 'qrBrandToken1' };
      h.fake.addApp({ appid: brand.appid, secret: brand.secret, kind: 'official_account' });
      await request(h.app.getHttpServer())
        .post('/admin/accounts')
        .set('X-Admin-Key', ADMIN_KEY)
        .send({ kind: 'official_account', ...brand, name: '扫码品牌' })
        .expect(201);
      qrState(h.fake).servers.set(brand.appid, { url: `${base}/wechat/webhook/${brand.appid}`, token: brand.token });
      const { desktop, created } = await start(new TestBrowser(), { appid: brand.appid });
      const openid = newOpenid();
      const scanned = await scan(created, openid, { as: 'scan' });
      expect(scanned.delivery.status).toBe(200);
      expect(scanned.delivery.reply).toContain(`/qr-login/${created.id}/confirm`);
      expect(await storedStatus(created.id)).toBe('scanned');
      const { answer } = await tap(created, openid, 'confirm');
      expect(answer.text).toContain('已确认登录');
      const first = await read(desktop, created);
      expect(first.body).toEqual({ status: 'confirmed', returnTo: '/' });
      const me = await desktop.get(`${base}/api/me`);
      expect(JSON.parse(me.text).identities).toEqual([
        expect.objectContaining({ appid: brand.appid, openid, source: 'official_account' }),
      ]);
    });

    it('should log in exactly once when several reads of a confirmed attempt race', async () => {
      const { desktop, created } = await start();
      const openid = newOpenid();
      await scan(created, openid);
      await tap(created, openid, 'confirm');
      const reads = await Promise.all(Array.from({ length: 6 }, () => read(desktop, created)));
      expect(reads.filter((each) => each.body?.returnTo !== undefined)).toHaveLength(1);
      expect(reads.flatMap((each) => each.res.headers.getSetCookie()).filter((c) => c.startsWith('sid='))).toHaveLength(
        1,
      );
      expect(reads.every((each) => each.body?.status === 'confirmed')).toBe(true);
    });

    it('should record a new follower who follows by scanning (subscribe with qrscene_) and greet them', async () => {
      const { desktop, created } = await start();
      const openid = newOpenid();
      const result = await scan(created, openid, { as: 'auto' });
      expect(result.event).toBe('subscribe');
      expect(result.delivery.reply).toContain(WELCOME);
      expect(result.delivery.reply).toContain(`/qr-login/${created.id}/confirm`);
      const [identity] = await h.query<{ subscribed: boolean }>(
        'SELECT subscribed FROM wechat_identities WHERE appid = $1 AND openid = $2',
        [OA_APP.appid, openid],
      );
      expect(identity.subscribed).toBe(true);
      expect((await read(desktop, created)).body).toEqual({ status: 'scanned' });
    });

    it('should deny on 取消, close the stream, and never log in', async () => {
      const { desktop, created } = await start();
      const stream = await openSse(`${base}${created.eventsUrl}`, desktop.jar.header(base));
      const openid = newOpenid();
      await scan(created, openid);
      const { answer } = await tap(created, openid, 'cancel');
      expect(answer.text).toContain('已取消登录');
      await stream.waitForStatus('denied');
      await stream.closed;
      const after = await read(desktop, created);
      expect(after.body).toEqual({ status: 'denied' });
      expect(after.res.headers.getSetCookie().some((line) => line.startsWith('sid='))).toBe(false);
    });
  });

  describe('the scan', () => {
    it('should refuse an unsigned scan (401) and leave the attempt pending', async () => {
      const { created } = await start();
      const result = await scanQrCode(h.fake, {
        ticket: ticketOf(created),
        openid: newOpenid(),
        server: { token: 'notTheToken0', aesKey: undefined, mode: 'plain' },
      });
      expect(result.ok && result.delivery.status).toBe(401);
      const unsigned = await fetch(`${base}/wechat/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'text/xml' },
        body: toXml({
          ToUserName: 'gh_x',
          FromUserName: 'o-attacker',
          CreateTime: 1,
          MsgType: 'event',
          Event: 'SCAN',
          EventKey: sceneOf(created),
        }),
      });
      expect(unsigned.status).toBe(401);
      expect(await storedStatus(created.id)).toBe('pending');
    });

    it("should answer WeChat's retry of the scan from the record and move the attempt once", async () => {
      const { created } = await start();
      const openid = newOpenid();
      const xml = toXml({
        ToUserName: 'gh_emulator0001',
        FromUserName: openid,
        CreateTime: Math.floor(Date.now() / 1000),
        MsgType: 'event',
        Event: 'SCAN',
        EventKey: sceneOf(created),
        Ticket: ticketOf(created),
      });
      const target = {
        url: `${base}/wechat/webhook`,
        token: TOKEN,
        aesKey: AES_KEY,
        appId: OA_APP.appid,
        mode: 'safe' as const,
      };
      const first = await sendToWebhook(target, xml, { openid, attempts: 1 });
      const retry = await sendToWebhook({ ...target, url: `${secondBase}/wechat/webhook` }, xml, {
        openid,
        attempts: 1,
      });
      expect(retry.reply).toBe(first.reply);
      expect(first.reply).toContain('确认登录');
      const [row] = await h.query<{ status: string; openid: string }>(
        'SELECT status, openid FROM qr_login_attempts WHERE id = $1',
        [created.id],
      );
      expect(row).toEqual({ status: 'scanned', openid });
    });

    it('should tell a second phone the code is used, and change nothing', async () => {
      const { created } = await start();
      const openid = newOpenid();
      await scan(created, openid);
      const other = await scan(created, newOpenid());
      expect(other.delivery.reply).toContain('已经使用过');
      const again = await scan(created, openid);
      expect(again.delivery.reply).toContain('确认登录');
      const [row] = await h.query<{ openid: string }>('SELECT openid FROM qr_login_attempts WHERE id = $1', [
        created.id,
      ]);
      expect(row.openid).toBe(openid);
    });

    it('should tell the phone an expired code has expired, and an unknown login scene is invalid', async () => {
      const { desktop, created } = await start();
      await h.query("UPDATE qr_login_attempts SET expires_at = now() - interval '1 second' WHERE id = $1", [
        created.id,
      ]);
      const expired = await scan(created, newOpenid(), {
        ticket: undefined,
        scene: sceneOf(created),
        appid: OA_APP.appid,
      });
      expect(expired.delivery.reply).toContain('二维码已过期');
      expect(await storedStatus(created.id)).toBe('pending');
      expect((await read(desktop, created)).body).toEqual({ status: 'expired' });
      const unknown = await scan(created, newOpenid(), {
        ticket: undefined,
        scene: `login_${randomBytes(16).toString('hex')}`,
        appid: OA_APP.appid,
      });
      expect(unknown.delivery.reply).toContain('无效');
    });

    it("should not deliver a scan of a code past WeChat's own expiry (the emulator refuses it)", async () => {
      const { created } = await start();
      h.fake.clockOffsetMs = 301_000;
      const result = await scanQrCode(h.fake, { ticket: ticketOf(created), openid: newOpenid() });
      expect(result).toMatchObject({ ok: false, status: 410 });
    });

    it('should leave a scan of another scene to the rest of the pipeline (the welcome text)', async () => {
      const openid = newOpenid();
      const result = await scanQrCode(h.fake, { scene: 'promo_2026', appid: OA_APP.appid, openid, as: 'subscribe' });
      expect(result.ok && result.delivery.reply).toContain(WELCOME);
      expect(result.ok && result.delivery.reply).not.toContain('登录');
    });
  });

  describe('the confirmation page', () => {
    it('should run a silent snsapi_base authorization that comes back to the page', async () => {
      const { created } = await start();
      const openid = newOpenid();
      await scan(created, openid);
      const phone = new TestBrowser();
      const first = await phone.get(`${base}/qr-login/${created.id}/confirm`, false);
      expect(first.status).toBe(302);
      const location = new URL(first.headers.get('location')!, base);
      expect(location.pathname).toBe('/oauth/authorize');
      expect(location.searchParams.get('scope')).toBe('snsapi_base');
      expect(location.searchParams.get('appid')).toBe(OA_APP.appid);
      expect(location.searchParams.get('returnTo')).toBe(`/qr-login/${created.id}/confirm?via=oauth`);
      setOAuthUser(h.fake, { openid });
      const page = await phone.get(new URL(first.headers.get('location')!, base).toString());
      expect(page.url).toBe(`${base}/qr-login/${created.id}/confirm?via=oauth`);
      expect(page.status).toBe(200);
      const authorize = h.fake.callsTo('/connect/oauth2/authorize')[0];
      expect(authorize.query.scope).toBe('snsapi_base');
    });

    it('should refuse the wrong openid: no buttons, and its post changes nothing', async () => {
      const { created } = await start();
      await scan(created, newOpenid());
      const intruder = await openConfirm(created, newOpenid());
      expect(intruder.page.status).toBe(403);
      expect(intruder.page.text).toContain('只有扫码的微信账号');
      expect(intruder.csrf).toBeUndefined();
      const forged = await intruder.phone.postForm(`${base}/qr-login/${created.id}/confirm`, {
        action: 'confirm',
        csrf: 'x'.repeat(43),
      });
      expect(forged.status).toBe(403);
      expect(await storedStatus(created.id)).toBe('scanned');
    });

    it("should refuse a post without the page's CSRF token, or with another session's", async () => {
      const { created } = await start();
      const openid = newOpenid();
      await scan(created, openid);
      const { phone, csrf } = await openConfirm(created, openid);
      const missing = await phone.postForm(`${base}/qr-login/${created.id}/confirm`, { action: 'confirm' });
      expect(missing.status).toBe(403);
      const otherPhone = await openConfirm(created, openid);
      expect(otherPhone.csrf).not.toBe(csrf);
      const swapped = await phone.postForm(`${base}/qr-login/${created.id}/confirm`, {
        action: 'confirm',
        csrf: otherPhone.csrf!,
      });
      expect(swapped.status).toBe(403);
      const noSession = await fetch(`${base}/qr-login/${created.id}/confirm`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ action: 'confirm', csrf: csrf! }).toString(),
      });
      expect(noSession.status).toBe(403);
      expect(await storedStatus(created.id)).toBe('scanned');
    });

    it('should say how things stand for a pending, decided, expired or unknown attempt', async () => {
      const { created } = await start();
      const pending = await openConfirm(created, newOpenid());
      expect(pending.page.status).toBe(409);
      expect(pending.page.text).toContain('请先扫码');
      const openid = newOpenid();
      await scan(created, openid);
      const { phone, csrf } = await openConfirm(created, openid);
      await phone.postForm(`${base}/qr-login/${created.id}/confirm`, { action: 'confirm', csrf: csrf! });
      const reused = await phone.postForm(`${base}/qr-login/${created.id}/confirm`, { action: 'cancel', csrf: csrf! });
      expect(reused.status).toBe(409);
      expect(await storedStatus(created.id)).toBe('confirmed');
      const used = await phone.get(`${base}/qr-login/${created.id}/confirm`);
      expect(used.status).toBe(409);

      const late = await start();
      const lateOpenid = newOpenid();
      await scan(late.created, lateOpenid);
      const latePage = await openConfirm(late.created, lateOpenid);
      await h.query("UPDATE qr_login_attempts SET expires_at = now() - interval '1 second' WHERE id = $1", [
        late.created.id,
      ]);
      const tooLate = await latePage.phone.postForm(`${base}/qr-login/${late.created.id}/confirm`, {
        action: 'confirm',
        csrf: latePage.csrf!,
      });
      expect(tooLate.status).toBe(409);
      expect(tooLate.text).toContain('二维码已过期');
      expect((await read(late.desktop, late.created)).body).toEqual({ status: 'expired' });

      const unknown = await new TestBrowser().get(`${base}/qr-login/00000000-0000-4000-8000-000000000000/confirm`);
      expect(unknown.status).toBe(404);
      expect(unknown.text).toContain('登录请求不存在');
    });
  });

  describe('GET /qr-login/:id/events', () => {
    it('should see a scan delivered to instance 1 on a stream held by instance 2 within a second', async () => {
      const { desktop, created } = await start();
      const stream = await openSse(`${secondBase}${created.eventsUrl}`, desktop.jar.header(base));
      await stream.waitForStatus('pending');
      const sent = Date.now();
      await scan(created, newOpenid());
      const seen = await stream.waitForStatus('scanned', 1000);
      expect(seen - sent).toBeLessThan(1000);
      stream.close();
    });

    it('should end the stream with expired when the code expires', async () => {
      const { desktop, created } = await start();
      await h.query("UPDATE qr_login_attempts SET expires_at = now() + interval '1 second' WHERE id = $1", [
        created.id,
      ]);
      const stream = await openSse(`${base}${created.eventsUrl}`, desktop.jar.header(base));
      await stream.waitForStatus('expired', 4000);
      await stream.closed;
      expect(stream.statuses()).toEqual(['pending', 'expired']);
    });

    it('should send the final status at once and close for a decided attempt', async () => {
      const { desktop, created } = await start();
      const openid = newOpenid();
      await scan(created, openid);
      await tap(created, openid, 'cancel');
      const stream = await openSse(`${base}${created.eventsUrl}`, desktop.jar.header(base));
      await stream.closed;
      expect(stream.statuses()).toEqual(['denied']);
    });
  });

  describe('QR_LOGIN_CONFIRM=scan', () => {
    it('should log in on the scan itself, with no confirmation step', async () => {
      const port = await freePort();
      const scanBase = `http://localhost:${port}`;
      const scanMode = await h.startInstance({ QR_LOGIN_CONFIRM: 'scan', PUBLIC_BASE_URL: scanBase });
      await scanMode.listen(port, '127.0.0.1');
      try {
        const { desktop, created } = await start(new TestBrowser(), { returnTo: '/welcome' }, scanBase);
        const openid = newOpenid();
        const result = await scan(created, openid, {
          server: { url: `${scanBase}/wechat/webhook`, token: TOKEN, aesKey: AES_KEY },
        });
        expect(result.delivery.reply).toContain('已登录');
        expect(result.delivery.reply).not.toContain('confirm');
        const first = await read(desktop, created, scanBase);
        expect(first.body).toEqual({ status: 'confirmed', returnTo: '/welcome' });
        expect(first.res.headers.getSetCookie().some((line) => line.startsWith('sid='))).toBe(true);
      } finally {
        await scanMode.close();
      }
    });
  });

  describe('GET /login', () => {
    it('should be a page with no external asset and a strict CSP that allows its one script by hash', async () => {
      const res = await fetch(`${base}/login?returnTo=${encodeURIComponent('//evil.example')}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      const csp = res.headers.get('content-security-policy')!;
      expect(csp).toMatch(/default-src 'none'/);
      expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
      expect(csp).toMatch(/connect-src 'self'/);
      expect(csp).not.toMatch(/unsafe-eval|script-src[^;]*unsafe-inline/);
      const html = await res.text();
      expect(html).toContain('data-return-to="/"');
      expect(html).not.toMatch(/\b(src|href)="(https?:)?\/\//);
      expect(html).toContain('请用微信扫码');
      expect(html).toContain('二维码已过期，点击刷新');
    });
  });

  describe('OpenAPI', () => {
    it('should describe the scan-to-login routes', async () => {
      const res = await request(h.app.getHttpServer()).get('/docs/json').expect(200);
      expect(Object.keys(res.body.paths)).toEqual(
        expect.arrayContaining([
          '/qr-login',
          '/qr-login/{id}',
          '/qr-login/{id}/events',
          '/qr-login/{id}/confirm',
          '/login',
        ]),
      );
    });
  });
});
