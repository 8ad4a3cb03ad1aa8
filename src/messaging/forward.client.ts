import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { forwardSignature } from 'src/messaging/forward-message';

/** How long a forward may take before it counts as failed (its reply, if any, is late long before). */
export const FORWARD_TIMEOUT_MS = 10_000;
/** The most of a backend's answer read: a reply is small. */
const MAX_ANSWER_BYTES = 64 * 1024;

export type ForwardResult =
  { ok: true; status: number; body: string } | { ok: false; error: string; permanent: boolean };

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/**
 * Why `url` may not be forwarded to, or null when it may: http(s) only, and plain http only to this machine
 * (loopback, for development) — anywhere else a forward carries users' messages and goes over TLS.
 */
export function refusedForwardUrl(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (parsed.protocol === 'https:') {
    return null;
  }
  if (parsed.protocol !== 'http:') {
    return `${parsed.protocol} is not http(s)`;
  }
  const host = parsed.hostname;
  const loopback = LOOPBACK_NAMES.has(host) || (isIP(host) === 4 && host.startsWith('127.'));
  return loopback ? null : 'plain http is only allowed to a loopback address; use https';
}

/**
 * POSTs signed forwards to the teams' backends over kept-alive connections. Redirects are never followed (a 3xx is
 * a failed forward): the URL an operator set is the only place a user's message goes.
 */
@Injectable()
export class ForwardClient implements OnApplicationShutdown {
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 256 });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 256 });

  onApplicationShutdown(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  post(url: string, body: string, secret: string, timeoutMs = FORWARD_TIMEOUT_MS): Promise<ForwardResult> {
    const refused = refusedForwardUrl(url);
    if (refused) {
      return Promise.resolve({ ok: false, error: `forward URL refused: ${refused}`, permanent: true });
    }
    const bytes = Buffer.from(body, 'utf8');
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    return new Promise<ForwardResult>((resolve) => {
      let settled = false;
      const done = (result: ForwardResult): void => {
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          resolve(result);
        }
      };
      const req = (secure ? httpsRequest : httpRequest)(
        target,
        {
          method: 'POST',
          agent: secure ? this.httpsAgent : this.httpAgent,
          headers: {
            'content-type': 'application/json; charset=utf-8',
            'content-length': bytes.length,
            'x-signature': forwardSignature(secret, bytes),
            'user-agent': 'wechat-login-service/forward',
          },
        },
        (res) => {
          const status = res.statusCode ?? 0;
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size <= MAX_ANSWER_BYTES) {
              chunks.push(chunk);
            }
          });
          res.on('end', () => {
            if (status >= 200 && status < 300) {
              done({ ok: true, status, body: size <= MAX_ANSWER_BYTES ? Buffer.concat(chunks).toString('utf8') : '' });
            } else {
              done({
                ok: false,
                error: status >= 300 && status < 400 ? `HTTP ${status} (redirects are not followed)` : `HTTP ${status}`,
                permanent: false,
              });
            }
          });
          res.on('error', (error) => done({ ok: false, error: error.message, permanent: false }));
        },
      );
      const timer = setTimeout(() => {
        done({ ok: false, error: `no answer within ${timeoutMs} ms`, permanent: false });
        req.destroy();
      }, timeoutMs);
      req.on('error', (error: NodeJS.ErrnoException) =>
        done({ ok: false, error: error.code ?? error.message, permanent: false }),
      );
      req.end(bytes);
    });
  }
}
