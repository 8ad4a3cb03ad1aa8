import { existsSync } from 'node:fs';
import { sendToWebhook } from 'test/fake-wechat/webhook-sender';
import { Fields, WebhookMode, wechatMessages } from 'test/support/wechat-signer';

const USAGE = `Usage: npm run wechat:send -- <kind> [value] [--flags]

Sends a message or event to the webhook the way WeChat's servers do: signed with the Token, encrypted with the
EncodingAESKey in compat/safe mode, retried up to 3 times when no answer comes within 5 s.

Kinds:
  text <content>          image          voice [recognition]      video       shortvideo
  location                link           subscribe [scene]        unsubscribe
  scan <ticket|scene>     click <EventKey>                        view <url>
  location-event          event <Event>  (any other event, kept raw)

  scan and subscribe take a scene (up to 64 characters) or the ticket of a QR code the emulator issued (longer):
  the ticket is looked up at --emulator for its scene. The login QR code /login shows is the newest one listed by
  GET <emulator>/__control/qrcodes (or scan it with POST <emulator>/__control/scan {"latest":true}).

Flags (each falls back to the environment, then .env):
  --url <webhook URL>     WEBHOOK_URL, else http://localhost:$PORT/wechat/webhook
  --token <Token>         WECHAT_OA_TOKEN
  --aes-key <key>         WECHAT_OA_AES_KEY (needed for compat and safe modes)
  --appid <appid>         WECHAT_OA_APPID
  --mode plain|compat|safe    default: safe when an AES key is known, else plain
  --from <openid>         default o-emulator-user
  --to <gh id>            default gh_emulator0001
  --msg-id <id>           resend a given MsgId (to see a retry get the same reply)
  --create-time <unix s>  for events: the same time makes a retry of the same event
  --emulator <url>        EMULATOR_URL, else http://127.0.0.1:4000 (to look a ticket up)
`;

function parseArgs(argv: string[]): { positional: string[]; flags: Record<string, string> } {
  const positional: string[] = [];
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg.startsWith('--')) {
      const [name, inline] = arg.slice(2).split('=', 2);
      flags[name] = inline ?? argv[i + 1] ?? '';
      if (inline === undefined) {
        i += 1;
      }
    } else {
      positional.push(arg);
    }
  }
  return { positional, flags };
}

/** WeChat's scenes are at most 64 characters; its tickets are longer. */
const isTicket = (value: string | undefined): value is string => value !== undefined && value.length > 64;

/** The scene of a ticket the emulator issued. */
async function sceneOfTicket(emulator: string, ticket: string): Promise<string> {
  const res = await fetch(`${emulator}/__control/qrcodes`);
  const { qrcodes } = (await res.json()) as { qrcodes: { ticket: string; scene: string }[] };
  const code = qrcodes.find((each) => each.ticket === ticket);
  if (!code) {
    throw new Error(`the emulator at ${emulator} issued no QR code with this ticket`);
  }
  return code.scene;
}

function buildMessage(
  kind: string,
  value: string | undefined,
  spec: { from: string; to: string; createTime?: number; msgId?: string; ticket?: string },
): string {
  const ticket = spec.ticket ?? 'gQEm8DwAAAAAAAAAAS5odHRwOi8v';
  const event = (name: string, extra: Fields = {}) => wechatMessages.event(name, extra, spec);
  switch (kind) {
    case 'text':
      return wechatMessages.text(value ?? '你好', spec);
    case 'image':
      return wechatMessages.image(spec);
    case 'voice':
      return wechatMessages.voice(value, spec);
    case 'video':
    case 'shortvideo':
      return wechatMessages.video(spec, kind);
    case 'location':
      return wechatMessages.location(spec);
    case 'link':
      return wechatMessages.link(spec);
    case 'subscribe':
      return event('subscribe', value ? { EventKey: `qrscene_${value}`, Ticket: ticket } : {});
    case 'unsubscribe':
      return event('unsubscribe');
    case 'scan':
      return event('SCAN', { EventKey: value ?? '1', Ticket: ticket });
    case 'click':
      return event('CLICK', { EventKey: value ?? 'V1001_TODAY_MUSIC' });
    case 'view':
      return event('VIEW', { EventKey: value ?? 'https://www.qq.com/' });
    case 'location-event':
      return event('LOCATION', { Latitude: 23.137466, Longitude: 113.352425, Precision: 119.38504 });
    case 'event':
      return event(value ?? 'TEMPLATESENDJOBFINISH');
    default:
      throw new Error(`unknown kind "${kind}"`);
  }
}

async function main(): Promise<void> {
  if (existsSync('.env')) {
    process.loadEnvFile('.env');
  }
  const { positional, flags } = parseArgs(process.argv.slice(2));
  const [kind, given] = positional;
  if (!kind || kind === 'help' || 'help' in flags) {
    process.stdout.write(USAGE);
    process.exitCode = kind ? 0 : 1;
    return;
  }
  const env = process.env;
  const token = flags.token ?? env.WECHAT_OA_TOKEN;
  if (!token) {
    throw new Error('no Token: pass --token or set WECHAT_OA_TOKEN');
  }
  const aesKey = flags['aes-key'] ?? env.WECHAT_OA_AES_KEY;
  const mode = (flags.mode ?? (aesKey ? 'safe' : 'plain')) as WebhookMode;
  if (!['plain', 'compat', 'safe'].includes(mode)) {
    throw new Error('--mode is plain, compat or safe');
  }
  const url = flags.url ?? env.WEBHOOK_URL ?? `http://localhost:${env.PORT ?? 3000}/wechat/webhook`;
  const byTicket = (kind === 'scan' || kind === 'subscribe') && isTicket(given);
  const emulator = (flags.emulator ?? env.EMULATOR_URL ?? 'http://127.0.0.1:4000').replace(/\/+$/, '');
  const value = byTicket ? await sceneOfTicket(emulator, given) : given;
  const xml = buildMessage(kind, value, {
    ticket: byTicket ? given : undefined,
    from: flags.from ?? 'o-emulator-user',
    to: flags.to ?? 'gh_emulator0001',
    createTime: flags['create-time'] ? Number(flags['create-time']) : undefined,
    msgId: flags['msg-id'],
  });
  const result = await sendToWebhook({ url, token, aesKey, appId: flags.appid ?? env.WECHAT_OA_APPID, mode }, xml);
  const out = process.stdout;
  out.write(`→ POST ${url} (${mode} mode${mode === 'plain' ? '' : ', encrypted'})\n`);
  out.write(`  ${xml}\n`);
  result.attempts.forEach((attempt, index) => {
    out.write(
      `← attempt ${index + 1}: ${attempt.error ? `no answer (${attempt.error})` : `HTTP ${attempt.status}`} in ${attempt.ms} ms\n`,
    );
  });
  if (result.status === undefined) {
    process.exitCode = 1;
    return;
  }
  out.write(`  content-type: ${result.contentType ?? '-'}\n`);
  if (result.reply !== undefined && result.reply !== result.body) {
    out.write(`  reply (decrypted): ${result.reply}\n`);
  } else {
    out.write(`  body: ${result.body}\n`);
  }
  process.exitCode = result.status === 200 ? 0 : 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`wechat:send: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
