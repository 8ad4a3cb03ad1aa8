import { join } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { setAuthorizeMode, setOAuthUser } from 'test/fake-wechat/routes/oauth.routes';
import { qrState, scanQrCode } from 'test/fake-wechat/routes/qrcode.routes';
import { launchPhoneBrowser, PhoneBrowser, TEST_OUTPUT } from 'test/support/browser';
import { Harness, OA_APP, startHarness } from 'test/support/create-test-app';
import { freePort } from 'test/support/free-port';

const TOKEN = 'qrBrowserToken7';

/**
 * Scan-to-login as people do it: a desktop chromium shows /login, the emulator plays the phone scanning the code, the
 * phone (a second, WeChat-like context) taps 确认登录, and the desktop lands on returnTo logged in.
 */
describe('Scan-to-login in a real browser (e2e)', () => {
  let h: Harness;
  let phone: PhoneBrowser;
  let browser: Browser;
  let desktop: BrowserContext;
  let base: string;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://localhost:${port}`;
    h = await startHarness({ PUBLIC_BASE_URL: base, WECHAT_OA_TOKEN: TOKEN });
    await h.app.listen(port);
    qrState(h.fake).servers.set(OA_APP.appid, { url: `${base}/wechat/webhook`, token: TOKEN });
    phone = await launchPhoneBrowser();
    browser = phone.browser;
    desktop = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
  });

  afterAll(async () => {
    await desktop?.close();
    await phone?.close();
    await h?.close();
  });

  it('should show the QR code, follow the scan and the confirmation, and land on returnTo logged in', async () => {
    setAuthorizeMode(h.fake, 'approve');
    const page = await desktop.newPage();
    const blocked: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) {
        blocked.push(message.text());
      }
    });
    await page.goto(`${base}/login?returnTo=${encodeURIComponent('/api/me')}`);
    await page.locator('#qr-status', { hasText: '请用微信扫码' }).waitFor();
    const image = page.locator('#qr-image');
    expect(await image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    expect(await image.getAttribute('src')).toMatch(/^data:image\/svg\+xml;base64,/);
    await page.screenshot({ path: join(TEST_OUTPUT, 'qr-login-desktop-pending.png') });

    const [code] = [...qrState(h.fake).byTicket.values()];
    const openid = 'o-browser-scanner-01';
    const scanned = await scanQrCode(h.fake, { ticket: code.ticket, openid, as: 'scan' });
    expect(scanned.ok).toBe(true);
    await page.locator('#qr-status', { hasText: '已扫码，请在手机上确认' }).waitFor();
    await page.screenshot({ path: join(TEST_OUTPUT, 'qr-login-desktop-scanned.png') });

    const link = /href="([^"]+)"/.exec(scanned.ok ? (scanned.delivery.reply ?? '') : '')![1];
    setOAuthUser(h.fake, { openid });
    const confirm = await phone.context.newPage();
    await confirm.goto(link);
    await confirm.getByRole('button', { name: '确认登录' }).waitFor();
    expect(await confirm.textContent('h1')).toBe('电脑端登录确认');
    await confirm.screenshot({ path: join(TEST_OUTPUT, 'qr-login-phone-confirm.png') });
    await confirm.getByRole('button', { name: '确认登录' }).click();
    await confirm.locator('h1', { hasText: '已确认登录' }).waitFor();
    await confirm.screenshot({ path: join(TEST_OUTPUT, 'qr-login-phone-confirmed.png') });

    await page.waitForURL(`${base}/api/me`);
    const me = JSON.parse((await page.textContent('body')) ?? '{}') as { identities: { openid: string }[] };
    expect(me.identities.map((identity) => identity.openid)).toEqual([openid]);
    const sid = (await desktop.cookies(base)).find((cookie) => cookie.name === 'sid');
    expect(sid).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
    await page.screenshot({ path: join(TEST_OUTPUT, 'qr-login-desktop-landed.png') });
    expect(blocked).toEqual([]);
    await page.close();
    await confirm.close();
  });

  it('should offer 刷新 once the code has expired and show a new code on it', async () => {
    const page = await desktop.newPage();
    await page.goto(`${base}/login`);
    await page.locator('#qr-status', { hasText: '请用微信扫码' }).waitFor();
    const before = await page.locator('#qr-image').getAttribute('src');
    // Time passes: the code expires, and the stream hears of it (as from any change) and re-reads the row.
    await h.query(
      `WITH a AS (UPDATE qr_login_attempts SET expires_at = now() WHERE status = 'pending' RETURNING id)
       SELECT pg_notify('wechat_changes', json_build_object('topic', 'qr-login', 'key', a.id::text)::text) FROM a`,
    );
    await page.locator('#qr-status', { hasText: '二维码已过期，点击刷新' }).waitFor();
    await page.screenshot({ path: join(TEST_OUTPUT, 'qr-login-desktop-expired.png') });
    await page.getByRole('button', { name: '刷新二维码' }).click();
    await page.locator('#qr-status', { hasText: '请用微信扫码' }).waitFor();
    expect(await page.locator('#qr-image').getAttribute('src')).not.toBe(before);
    await page.close();
  });
});
