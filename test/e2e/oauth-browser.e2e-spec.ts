import { join } from 'node:path';
import { setAuthorizeMode, setOAuthUser } from 'test/fake-wechat/routes/oauth.routes';
import { launchPhoneBrowser, PhoneBrowser, TEST_OUTPUT } from 'test/support/browser';
import { freePort } from 'test/support/free-port';
import { Harness, startHarness } from 'test/support/create-test-app';

/** The web login as a person does it: a real chromium, the service on a real port, WeChat's consent page. */
describe('OAuth login in a real browser (e2e)', () => {
  let h: Harness;
  let phone: PhoneBrowser;
  let base: string;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://localhost:${port}`;
    h = await startHarness({ PUBLIC_BASE_URL: base });
    await h.app.listen(port);
    phone = await launchPhoneBrowser();
  });

  afterAll(async () => {
    await phone?.close();
    await h?.close();
  });

  beforeEach(() => {
    setAuthorizeMode(h.fake, 'page');
  });

  it('should go from 游客 through 允许 on WeChat to 欢迎, <nickname> with the avatar', async () => {
    setOAuthUser(h.fake, { nickname: '浏览器小王' });
    const page = await phone.context.newPage();
    await page.goto(`${base}/`);
    expect(await page.textContent('h1')).toContain('游客');

    await page.getByRole('link', { name: '微信登录' }).click();
    await page.waitForURL(/\/connect\/oauth2\/authorize\?/);
    expect(new URL(page.url()).hash).toBe('#wechat_redirect');
    expect(await page.isEnabled('button:has-text("允许")')).toBe(true);
    await page.screenshot({ path: join(TEST_OUTPUT, 'oauth-wechat-consent.png') });

    await page.getByRole('button', { name: '允许' }).click();
    await page.waitForURL(`${base}/`);
    expect(await page.textContent('h1')).toBe('欢迎, 浏览器小王');
    const avatarLoaded = await page
      .locator('img.avatar')
      .evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0);
    expect(avatarLoaded).toBe(true);
    const cookies = await phone.context.cookies(base);
    expect(cookies.find((cookie) => cookie.name === 'sid')).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
    await page.screenshot({ path: join(TEST_OUTPUT, 'oauth-home-logged-in.png') });
    await page.close();
  });

  it('should show the refusal page after 拒绝 and lead back to WeChat on 重新授权', async () => {
    await phone.context.clearCookies();
    const page = await phone.context.newPage();
    await page.goto(`${base}/oauth/authorize?returnTo=/cart`);
    await page.getByRole('button', { name: '拒绝' }).click();
    await page.waitForURL(/\/oauth\/callback\?state=/);
    expect(await page.textContent('h1')).toBe('你拒绝了微信授权');
    await page.screenshot({ path: join(TEST_OUTPUT, 'oauth-refused.png') });
    await page.getByRole('link', { name: '重新授权' }).click();
    await page.waitForURL(/\/connect\/oauth2\/authorize\?/);
    expect(await page.isVisible('button:has-text("允许")')).toBe(true);
    await page.close();
  });
});
