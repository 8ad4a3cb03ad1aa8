import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, BrowserContext, chromium } from 'playwright-core';

/** Debian's chromium (`apt-get install chromium`); `npx playwright install` needs the internet. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Screenshots and other artefacts of the browser tests (gitignored). */
export const TEST_OUTPUT = join(__dirname, '..', '..', 'test-output');

/** WeChat's in-app browser on an iPhone: its user agent carries MicroMessenger. */
const WECHAT_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) ' +
  'Mobile/15E148 MicroMessenger/8.0.50(0x1800323c) NetType/WIFI Language/zh_CN';

export interface PhoneBrowser {
  browser: Browser;
  context: BrowserContext;
  close(): Promise<void>;
}

/** Headless chromium with a fresh profile and a phone-sized, touch-enabled context. */
export async function launchPhoneBrowser(): Promise<PhoneBrowser> {
  mkdirSync(TEST_OUTPUT, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    userAgent: WECHAT_UA,
    locale: 'zh-CN',
  });
  return {
    browser,
    context,
    async close() {
      await context.close();
      await browser.close();
    },
  };
}
