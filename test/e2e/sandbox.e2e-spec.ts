import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { LATE_KEYWORD } from 'test/fake-wechat/team-backend';
import { sendToWebhook, SendTarget } from 'test/fake-wechat/webhook-sender';
import { eventually } from 'test/support/eventually';
import { freePort } from 'test/support/free-port';
import { buildService } from 'test/support/service-process';
import { createTestDatabase, TestDatabase } from 'test/support/test-database';
import { wechatMessages } from 'test/support/wechat-signer';
import { parseXml, textOf } from 'src/wechat/xml/xml.codec';

const ROOT = join(__dirname, '..', '..');
/** Who `npm run wechat:send` writes as by default, and so whom the printed steps look up. */
const SENDER = 'o-emulator-user';

/**
 * `npm run sandbox` as a newcomer runs it (the script itself, on free ports), followed through the steps it prints:
 * the webhook credentials and URLs are read from its output, not from the script.
 */
describe('npm run sandbox (e2e)', () => {
  let db: TestDatabase;
  let sandbox: ChildProcess;
  let output = '';
  let exited: Promise<number | null>;
  let target: SendTarget;
  let adminKey: string;

  /** The first printed URL that matches `pattern` (the steps are curl lines). */
  const printedUrl = (pattern: RegExp): string => {
    const url = output.match(pattern)?.[0];
    if (!url) {
      throw new Error(`the sandbox printed no URL matching ${pattern}:\n${output}`);
    }
    return url;
  };
  const send = (content: string) =>
    sendToWebhook(target, wechatMessages.text(content, { from: SENDER }), { attempts: 1 });
  const replyText = (reply: string | undefined) => textOf(parseXml(reply ?? ''), 'Content');
  const forwardsReceived = async () =>
    ((await (await fetch(printedUrl(/http:\/\/127\.0\.0\.1:\d+\/wechat\/forward/))).json()) as { received: number })
      .received;

  beforeAll(async () => {
    // Built here, where a hook may take long, so that the sandbox's own build step finds dist/ fresh.
    buildService();
    db = await createTestDatabase();
    const [port, emulatorPort, backendPort] = [await freePort(), await freePort(), await freePort()];
    sandbox = spawn(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', join(ROOT, 'scripts', 'sandbox.ts')],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH,
          DATABASE_URL: db.url,
          PORT: String(port),
          EMULATOR_PORT: String(emulatorPort),
          TEAM_BACKEND_PORT: String(backendPort),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group: should it hang, the group (the service it started included) is killed at the end.
        detached: true,
      },
    );
    sandbox.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    sandbox.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    exited = new Promise((resolve) => sandbox.on('exit', (code) => resolve(code)));
    await eventually(
      () => {
        if (sandbox.exitCode !== null) {
          throw new Error(`the sandbox exited with ${sandbox.exitCode}:\n${output}`);
        }
        return output.includes('Ctrl-C stops them all.');
      },
      25_000,
      'the sandbox to print its steps',
    );
    expect(output).toContain(`the team backend at http://127.0.0.1:${backendPort}/wechat/forward`);
    const exported = output.match(/^ {2}export (.*)$/m)?.[1];
    if (!exported) {
      throw new Error(`the sandbox printed no export line for wechat:send:\n${output}`);
    }
    const vars = Object.fromEntries(exported.split(' ').map((pair) => pair.split('=', 2)));
    target = {
      url: vars.WEBHOOK_URL,
      token: vars.WECHAT_OA_TOKEN,
      appId: vars.WECHAT_OA_APPID,
      aesKey: vars.WECHAT_OA_AES_KEY,
      mode: 'safe',
    };
    adminKey = output.match(/ADMIN_API_KEY=(\S+)/)![1];
  }, 90_000);

  afterAll(async () => {
    if (sandbox?.exitCode === null) {
      sandbox.kill('SIGTERM');
      const timer = setTimeout(() => {
        try {
          process.kill(-sandbox.pid!, 'SIGKILL');
        } catch {
          // the group is gone already
        }
      }, 10_000);
      await exited;
      clearTimeout(timer);
    }
    await db?.drop();
  });

  it("should answer a text with the team backend's echo, as the passive reply", async () => {
    expect(target.url).toBe(printedUrl(/http:\/\/localhost:\d+\/wechat\/webhook(?=\s)/));
    const result = await send('你好');
    expect(result.status).toBe(200);
    expect(replyText(result.reply)).toBe('后端收到：你好');
  });

  it(`should answer ${LATE_KEYWORD} with success, then send the backend's late reply as a customer-service message`, async () => {
    // Within WeChat's 5 s: the sender, like WeChat, gives up on an answer later than that.
    const result = await send(`${LATE_KEYWORD}再说`);
    expect(result.body).toBe('success');
    // Where the printed steps say to look: the calls WeChat got, and /admin/messages.
    const emulatorMessages = printedUrl(/http:\/\/127\.0\.0\.1:\d+\/__control\/messages\?touser=\S+(?=")/);
    expect(emulatorMessages).toMatch(new RegExp(`touser=${SENDER}$`));
    const sent = await eventually(
      async () => {
        const { messages } = (await (await fetch(emulatorMessages)).json()) as { messages: { body: unknown }[] };
        return messages.length > 0 && messages;
      },
      12_000,
      'the customer-service message',
    );
    expect(sent.map((message) => message.body)).toEqual([
      { touser: SENDER, msgtype: 'text', text: { content: `后端收到：${LATE_KEYWORD}再说` } },
    ]);
    const adminMessages = printedUrl(/http:\/\/localhost:\d+\/admin\/messages(?=")/);
    const listed = await eventually(
      async () => {
        const res = await fetch(adminMessages, { headers: { 'x-admin-key': adminKey } });
        const { messages } = (await res.json()) as { messages: { status: string }[] };
        return messages.every((message) => message.status === 'sent') && messages;
      },
      5_000,
      'the message to be marked sent',
    );
    expect(listed).toEqual([
      expect.objectContaining({ kind: 'custom', touser: SENDER, origin: 'forward_reply', status: 'sent' }),
    ]);
  });

  it('should let a keyword rule answer instead of the backend, still forwarding the message', async () => {
    const rule = await fetch(printedUrl(/http:\/\/localhost:\d+\/admin\/auto-replies(?= )/), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-admin-key': adminKey },
      body: JSON.stringify({
        match: 'exact',
        keyword: '营业时间',
        reply: { type: 'text', content: '每天 9:00–21:00' },
      }),
    });
    expect(rule.status).toBe(201);
    const before = await forwardsReceived();
    const result = await send('营业时间');
    expect(replyText(result.reply)).toBe('每天 9:00–21:00');
    await eventually(async () => (await forwardsReceived()) === before + 1, 5_000, 'the forward of the rule message');
  });
});
