import { spawn } from 'node:child_process';
import { DEMO_APPS, FakeWeChat } from 'test/fake-wechat/fake-wechat.server';
import { prepareLoginCode } from 'test/fake-wechat/routes/mini-program.routes';
import { qrState } from 'test/fake-wechat/routes/qrcode.routes';
import { LATE_KEYWORD, TeamBackend } from 'test/fake-wechat/team-backend';
import { buildService, serviceArgv } from 'test/support/service-process';

/**
 * `npm run sandbox`: the WeChat emulator plus the service wired to it with demo credentials, on the embedded
 * database (or DATABASE_URL when set), and a tiny team backend the default official account forwards to (it echoes
 * texts, and answers the late keyword after WeChat's deadline). Prints what to try with curl.
 */
const SANDBOX_ENV = {
  WECHAT_OA_APPID: DEMO_APPS[0].appid,
  WECHAT_OA_SECRET: DEMO_APPS[0].secret,
  WECHAT_OA_TOKEN: 'sandboxtoken',
  WECHAT_OA_AES_KEY: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
  WECHAT_OA_DOMAIN_VERIFY: 'sandbox123',
  WECHAT_MP_APPID: DEMO_APPS[1].appid,
  WECHAT_MP_SECRET: DEMO_APPS[1].secret,
  ADMIN_API_KEY: 'sandbox-admin-key-please-change',
  FORWARD_SECRET: 'sandbox-forward-secret-please-change',
};

/** Who `npm run wechat:send` writes as, unless told `--from`. */
const SENDER_OPENID = 'o-emulator-user';

/** A second official account and a second mini-program, added through the admin API as an operator would. */
const SECOND_ACCOUNTS = [
  {
    kind: 'official_account',
    appid: 'wxsandbox0brand0a2',
    secret: 'sandbox-brand-secret',
    name: '第二个公众号',
    token: 'brandtoken2',
    aesKey: 'ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut',
    welcomeText: '欢迎关注第二个公众号',
  },
  { kind: 'mini_program', appid: 'wxsandbox0shop0m02', secret: 'sandbox-shop-secret', name: '第二个小程序' },
] as const;

/** Registers the second accounts with the emulator (as WeChat knows them) and with the service's admin API. */
async function addSecondAccounts(service: string): Promise<void> {
  for (const account of SECOND_ACCOUNTS) {
    const res = await fetch(`${service}/admin/accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-admin-key': SANDBOX_ENV.ADMIN_API_KEY },
      body: JSON.stringify(account),
    });
    // 409: already there (a sandbox on DATABASE_URL started before).
    if (!res.ok && res.status !== 409) {
      throw new Error(`POST /admin/accounts for ${account.appid} answered ${res.status}: ${await res.text()}`);
    }
  }
}

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 3000);
  const emulatorPort = Number(process.env.EMULATOR_PORT ?? 4000);
  const backendPort = Number(process.env.TEAM_BACKEND_PORT ?? 4100);
  const fake = new FakeWeChat();
  for (const { appid, secret, kind } of SECOND_ACCOUNTS) {
    fake.addApp({ appid, secret, kind });
  }
  const emulator = await fake.start(emulatorPort);
  // Its behaviour is the sandbox's echo (TeamBackend's default); started before the service, which forwards to it.
  const backend = new TeamBackend(SANDBOX_ENV.FORWARD_SECRET);
  const forwardUrl = await backend.start(backendPort);
  process.stdout.write('Building the service if needed...\n');
  buildService();
  const service = `http://localhost:${port}`;
  const child = spawn(process.execPath, serviceArgv(), {
    env: {
      ...process.env,
      PORT: String(port),
      PUBLIC_BASE_URL: process.env.PUBLIC_BASE_URL ?? service,
      PGLITE_DIR: process.env.PGLITE_DIR ?? 'memory://',
      WECHAT_API_BASE: emulator,
      WECHAT_OPEN_BASE: emulator,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      ...SANDBOX_ENV,
      WECHAT_OA_FORWARD_URL: forwardUrl,
    },
    stdio: 'inherit',
  });
  const stop = (): void => {
    child.kill('SIGTERM');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  child.on('exit', (code) => void Promise.all([fake.stop(), backend.stop()]).then(() => process.exit(code ?? 0)));

  for (let i = 0; i < 100; i += 1) {
    try {
      if ((await fetch(`${service}/health`)).ok) {
        break;
      }
    } catch {
      // still starting
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await addSecondAccounts(service);
  // Where the emulator's "phone" delivers its scans: the default official account's webhook, signed and sealed.
  qrState(fake).servers.set(SANDBOX_ENV.WECHAT_OA_APPID, {
    url: `${service}/wechat/webhook`,
    token: SANDBOX_ENV.WECHAT_OA_TOKEN,
    aesKey: SANDBOX_ENV.WECHAT_OA_AES_KEY,
  });
  const code = prepareLoginCode(fake, { openid: 'o-sandbox-user' });
  const [brand, shop] = SECOND_ACCOUNTS;
  const shopCode = prepareLoginCode(fake, { openid: 'o-sandbox-shopper', appid: shop.appid });
  const json = "-H 'content-type: application/json'";
  const admin = `-H "X-Admin-Key: ${SANDBOX_ENV.ADMIN_API_KEY}"`;
  process.stdout.write(
    [
      '',
      `Sandbox ready: the service at ${service} (API docs: ${service}/docs), the WeChat emulator at ${emulator},`,
      `the team backend at ${forwardUrl} (WECHAT_OA_FORWARD_URL of the default official account).`,
      `Demo credentials: ${Object.entries(SANDBOX_ENV)
        .map(([key, value]) => `${key}=${value}`)
        .join(' ')}`,
      '',
      'Mini-program login (a wx.login code is prepared for you; make more with the first command):',
      `  curl -s -XPOST ${emulator}/__control/jscode ${json} -d '{"openid":"o-sandbox-user"}'`,
      `  curl -s -XPOST ${service}/miniprogram/login ${json} -d '{"code":"${code}"}'`,
      `  curl -s ${service}/api/me -H "Authorization: Bearer <token from the login>"`,
      `  curl -s -XPOST ${emulator}/__control/phonecode ${json} -d '{"phoneNumber":"13800138000"}'`,
      `  curl -s -XPOST ${service}/miniprogram/phone ${json} -H "Authorization: Bearer <token>" -d '{"code":"<phone code>"}'`,
      'Access tokens for your other services:',
      `  curl -s "${service}/admin/token?appid=${SANDBOX_ENV.WECHAT_MP_APPID}" -H "X-Admin-Key: ${SANDBOX_ENV.ADMIN_API_KEY}"`,
      'Official account webhook (signed messages, as WeChat sends them), forwarded to the team backend:',
      `  export WEBHOOK_URL=${service}/wechat/webhook WECHAT_OA_TOKEN=${SANDBOX_ENV.WECHAT_OA_TOKEN} WECHAT_OA_APPID=${SANDBOX_ENV.WECHAT_OA_APPID} WECHAT_OA_AES_KEY=${SANDBOX_ENV.WECHAT_OA_AES_KEY}`,
      '  npm run wechat:send -- text "你好"      # the passive reply is the backend\'s echo: 后端收到：你好',
      `  npm run wechat:send -- text "${LATE_KEYWORD}再说"  # answered success; the backend replies after 6 s, too late for WeChat,`,
      '  # so its reply goes out as a customer-service message (origin forward_reply) a few seconds later:',
      `  curl -s "${service}/admin/messages" ${admin}`,
      `  curl -s "${emulator}/__control/messages?touser=${SENDER_OPENID}"   # the custom/send calls WeChat got`,
      `  curl -s ${forwardUrl}   # how many forwards the backend got`,
      "  A keyword rule answers before the backend (the message is still forwarded; the backend's reply is ignored):",
      `  curl -s -XPOST ${service}/admin/auto-replies ${admin} ${json} -d '{"match":"exact","keyword":"营业时间","reply":{"type":"text","content":"每天 9:00–21:00"}}'`,
      '  npm run wechat:send -- text "营业时间"',
      `A second official account (${brand.appid}) and a second mini-program (${shop.appid}) were added with`,
      'POST /admin/accounts; every account, the env ones included:',
      `  curl -s ${service}/admin/accounts ${admin}`,
      `  curl -s -XPOST ${service}/miniprogram/login ${json} -d '{"code":"${shopCode}","appid":"${shop.appid}"}'`,
      `  curl -s "${service}/admin/token?appid=${shop.appid}" ${admin}`,
      `  curl -s -XPOST "${service}/admin/auto-replies?appid=${brand.appid}" ${admin} ${json} -d '{"match":"exact","keyword":"你好","reply":{"type":"text","content":"第二个公众号向你问好"}}'`,
      `  WEBHOOK_URL=${service}/wechat/webhook/${brand.appid} WECHAT_OA_TOKEN=${brand.token} WECHAT_OA_APPID=${brand.appid} WECHAT_OA_AES_KEY=${brand.aesKey} npm run wechat:send -- text "你好"`,
      `  (a code for the second mini-program: curl -s -XPOST ${emulator}/__control/jscode ${json} -d '{"appid":"${shop.appid}"}')`,
      'A wx.config signature for an H5 page of this host (JSSDK_ALLOWED_HOSTS):',
      `  curl -s "${service}/jssdk/config?url=${encodeURIComponent(`${service}/page?x=1`)}"`,
      'PC scan-to-login (扫码登录) in a browser:',
      `  1. open ${service}/login?returnTo=/  — the QR code, 请用微信扫码`,
      `  2. the phone scans it:  curl -s -XPOST ${emulator}/__control/scan ${json} -d '{"latest":true,"openid":"o-sandbox-phone"}'`,
      '     (the reply holds the 确认登录 link; the desktop now reads 已扫码，请在手机上确认)',
      `     or: npm run wechat:send -- scan <ticket from ${emulator}/__control/qrcodes>`,
      "  3. open that link in a phone-sized window, pass WeChat's page, tap 确认登录: the desktop lands on / logged in",
      '  (QR_LOGIN_CONFIRM=scan skips step 3)',
      'H5 login in a browser: open',
      `  ${service}/  and click 微信登录 (the emulator shows WeChat's 允许 / 拒绝 page)`,
      'Ctrl-C stops them all.',
      '',
    ].join('\n'),
  );
}

void main();
