import { DEMO_APPS, FakeWeChat } from 'test/fake-wechat/fake-wechat.server';

/** `npm run emulator`: the WeChat emulator on EMULATOR_PORT (default 4000) with the demo apps. */
async function main(): Promise<void> {
  const port = Number(process.env.EMULATOR_PORT ?? 4000);
  const fake = new FakeWeChat();
  const url = await fake.start(port, process.env.EMULATOR_HOST ?? '127.0.0.1');
  process.stdout.write(
    [
      `WeChat emulator listening at ${url}`,
      ...DEMO_APPS.map((app) => `  ${app.kind}: appid ${app.appid} secret ${app.secret}`),
      'Point the service at it with WECHAT_API_BASE and WECHAT_OPEN_BASE set to this address.',
      `Get a wx.login code: curl -s -XPOST ${url}/__control/jscode -H 'content-type: application/json' -d '{}'`,
      `Add an app: curl -s -XPOST ${url}/__control/apps -H 'content-type: application/json' -d '{"appid":"wx…","secret":"…","kind":"official_account"}'`,
      `Current JS-SDK tickets: curl -s '${url}/__control/tickets?appid=${DEMO_APPS[0].appid}'`,
      '',
    ].join('\n'),
  );
  const stop = (): void => void fake.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
