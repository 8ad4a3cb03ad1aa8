import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, IncomingMessage } from 'node:http';
import { Parser } from 'xml2js';
import { ForwardClient } from 'src/messaging/forward.client';
import { MessageCipher } from 'src/wechat/crypto/message-cipher';

/**
 * The floor for the webhook: a bare node:http handler doing what any correct webhook must — signature check,
 * (safe mode: msg_signature + AES decrypt), xml2js parse, a passive text reply (safe mode: encrypted) — and nothing
 * else: no framework, no logging, no database. Run: `node -r ts-node/register/transpile-only
 * -r tsconfig-paths/register bench/floor-webhook.ts` with PORT, WECHAT_OA_TOKEN, WECHAT_OA_AES_KEY, WECHAT_OA_APPID.
 *
 * With FLOOR_FORWARD_URL (and FORWARD_SECRET), the floor of forwarding: the same, plus one signed POST of the
 * message's JSON to that backend per delivery (the service's ForwardClient), whose reply text is the passive reply —
 * still no database, so no record: the most a forwarding webhook can do on the machine.
 */
const token = process.env.WECHAT_OA_TOKEN!;
const cipher = new MessageCipher([process.env.WECHAT_OA_AES_KEY!], process.env.WECHAT_OA_APPID!);
const forwardUrl = process.env.FLOOR_FORWARD_URL;
const forwarder = new ForwardClient();

/** The backend's reply text to `message`, POSTed signed by the service's own client (the contract's JSON shape). */
async function forward(message: Record<string, string>): Promise<string> {
  const body = JSON.stringify({
    id: randomUUID(),
    appid: process.env.WECHAT_OA_APPID,
    openid: message.FromUserName,
    msgType: message.MsgType,
    msgId: message.MsgId,
    createTime: Number(message.CreateTime),
    fields: { Content: message.Content },
  });
  const result = await forwarder.post(forwardUrl!, body, process.env.FORWARD_SECRET ?? '');
  if (!result.ok) {
    throw new Error(result.error);
  }
  return (JSON.parse(result.body) as { reply: { content: string } }).reply.content;
}

const sha1 = (parts: string[]): Buffer => createHash('sha1').update(parts.sort().join('')).digest();
const same = (expected: Buffer, given: string | null): boolean => {
  const buffer = Buffer.from(given ?? '', 'hex');
  return buffer.length === expected.length && timingSafeEqual(buffer, expected);
};
const cdata = (text: string): string => `<![CDATA[${text.replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;

function parse(xml: string): Record<string, string> {
  let out: Record<string, string> = {};
  new Parser({ explicitArray: false, explicitRoot: false, async: false }).parseString(
    xml,
    (error: unknown, result: Record<string, string>) => {
      if (error) {
        throw error;
      }
      out = result;
    },
  );
  return out;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const server = createServer((req, res) => {
  if (req.url === '/health') {
    res.end('ok');
    return;
  }
  void (async () => {
    const url = new URL(req.url ?? '/', 'http://floor');
    const q = url.searchParams;
    const timestamp = q.get('timestamp') ?? '';
    const nonce = q.get('nonce') ?? '';
    const body = await readBody(req);
    const encrypted = q.get('encrypt_type') === 'aes';
    if (!same(sha1([token, timestamp, nonce]), q.get('signature'))) {
      res.writeHead(401).end();
      return;
    }
    try {
      let xml = body;
      if (encrypted) {
        const envelope = parse(body);
        if (!same(sha1([token, timestamp, nonce, envelope.Encrypt]), q.get('msg_signature'))) {
          res.writeHead(401).end();
          return;
        }
        xml = cipher.decrypt(envelope.Encrypt).xml;
      }
      const message = parse(xml);
      const content = forwardUrl ? await forward(message) : '你好呀';
      let reply =
        `<xml><ToUserName>${cdata(message.FromUserName)}</ToUserName><FromUserName>${cdata(message.ToUserName)}</FromUserName>` +
        `<CreateTime>${Math.floor(Date.now() / 1000)}</CreateTime><MsgType><![CDATA[text]]></MsgType>` +
        `<Content>${cdata(content)}</Content></xml>`;
      if (encrypted) {
        const sealed = cipher.encryptReply(reply, token, String(Math.floor(Date.now() / 1000)), '123456789');
        reply =
          `<xml><Encrypt>${cdata(sealed.encrypt)}</Encrypt><MsgSignature>${cdata(sealed.msgSignature)}</MsgSignature>` +
          `<TimeStamp>${sealed.timestamp}</TimeStamp><Nonce>${cdata(sealed.nonce)}</Nonce></xml>`;
      }
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end(reply);
    } catch {
      res.writeHead(400).end();
    }
  })();
});

server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 3100), '127.0.0.1');
