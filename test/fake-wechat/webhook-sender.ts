import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { SignerConfig, WebhookMode, WeChatSigner } from 'test/support/wechat-signer';

export interface SendTarget extends SignerConfig {
  /** The server URL of 服务器配置, e.g. http://localhost:3000/wechat/webhook */
  url: string;
  mode?: WebhookMode;
}

export interface SendOptions {
  /** WeChat waits 5 s for an answer, then drops the connection and tries again. */
  timeoutMs?: number;
  /** WeChat makes three attempts in all. */
  attempts?: number;
  openid?: string;
}

export interface SendAttempt {
  status?: number;
  body?: string;
  error?: string;
  ms: number;
}

export interface SendResult {
  /** Every attempt, in order; the last is the one that counted. */
  attempts: SendAttempt[];
  status?: number;
  contentType?: string;
  /** The raw answer body. */
  body?: string;
  /** The reply as WeChat reads it: decrypted when it came encrypted. */
  reply?: string;
  /** The request as sent (the same on every attempt, as WeChat's retries are). */
  query: Record<string, string>;
  requestBody: string;
}

function post(
  url: URL,
  body: string,
  timeoutMs: number,
): Promise<{ status: number; contentType?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(body), 'user-agent': 'Mozilla/4.0' },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: res.headers['content-type'],
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * WeChat's sending side: signs (and encrypts) `xml`, POSTs it to the webhook, and retries like WeChat does when the
 * answer does not come within 5 s (a connection error counts the same). An HTTP answer of any status ends it.
 */
export async function sendToWebhook(target: SendTarget, xml: string, options: SendOptions = {}): Promise<SendResult> {
  const signer = new WeChatSigner(target);
  const signed = signer.sign(xml, target.mode ?? 'plain', options.openid);
  const url = new URL(target.url);
  for (const [key, value] of Object.entries(signed.query)) {
    url.searchParams.set(key, value);
  }
  const attempts: SendAttempt[] = [];
  const result: SendResult = { attempts, query: signed.query, requestBody: signed.body };
  const maxAttempts = options.attempts ?? 3;
  for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
    const started = Date.now();
    try {
      const answer = await post(url, signed.body, options.timeoutMs ?? 5000);
      attempts.push({ status: answer.status, body: answer.body, ms: Date.now() - started });
      result.status = answer.status;
      result.contentType = answer.contentType;
      result.body = answer.body;
      result.reply = answer.status === 200 ? signer.openReply(answer.body) : undefined;
      return result;
    } catch (error) {
      attempts.push({ error: error instanceof Error ? error.message : String(error), ms: Date.now() - started });
    }
  }
  return result;
}
