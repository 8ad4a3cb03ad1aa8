import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendToWebhook } from 'test/fake-wechat/webhook-sender';
import { wechatMessages } from 'test/support/wechat-signer';
import { MessageCipher } from 'src/wechat/crypto/message-cipher';
import { buildEncryptedEnvelope } from 'src/wechat/messages/reply';
import { verifySignature } from 'src/wechat/crypto/signature';

const TOKEN = 'senderToken1';
const AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const APPID = 'wxsender00000001';
const PONG = '<xml><Content><![CDATA[pong]]></Content></xml>';

describe('sendToWebhook', () => {
  let server: Server;
  let url: string;
  let seen: { query: URLSearchParams; body: string }[];
  /** How many of the next requests to leave unanswered (WeChat then retries). */
  let stall: number;

  beforeEach(async () => {
    seen = [];
    stall = 0;
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen.push({ query: new URL(req.url ?? '/', 'http://x').searchParams, body });
        if (stall > 0) {
          stall -= 1;
          return;
        }
        const sealed = new MessageCipher([AES_KEY], APPID).encryptReply(PONG, TOKEN, '1700000000', '42');
        res.writeHead(200, { 'content-type': 'application/xml' });
        res.end(buildEncryptedEnvelope(sealed));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/wechat/webhook`;
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('should sign the request the way WeChat does', async () => {
    await sendToWebhook({ url, token: TOKEN, mode: 'plain' }, wechatMessages.text('hi'));
    const { query, body } = seen[0];
    expect(verifySignature(TOKEN, [query.get('timestamp')!, query.get('nonce')!], query.get('signature'))).toBe(true);
    expect(body).toContain('<Content><![CDATA[hi]]></Content>');
  });

  it('should retry without an answer in time, with the same request, three attempts at most', async () => {
    stall = 5;
    const result = await sendToWebhook(
      { url, token: TOKEN, aesKey: AES_KEY, appId: APPID, mode: 'safe' },
      wechatMessages.text('hi'),
      { timeoutMs: 100 },
    );
    expect(result.attempts).toHaveLength(3);
    expect(result.status).toBeUndefined();
    expect(new Set(seen.map((request) => request.body)).size).toBe(1);
    expect(new Set(seen.map((request) => request.query.toString())).size).toBe(1);
  });

  it('should stop at the first answer and open an encrypted reply', async () => {
    stall = 1;
    const result = await sendToWebhook(
      { url, token: TOKEN, aesKey: AES_KEY, appId: APPID, mode: 'safe' },
      wechatMessages.text('hi'),
      { timeoutMs: 200 },
    );
    expect(result.attempts.map((attempt) => attempt.status)).toEqual([undefined, 200]);
    expect(result.reply).toBe(PONG);
    expect(seen[0].query.get('encrypt_type')).toBe('aes');
  });
});
