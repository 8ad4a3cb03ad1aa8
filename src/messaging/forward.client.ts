import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { isIP } from 'node:net';
import { Agent } from 'undici';
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

/** A forward URL as the client sends to it, parsed once per distinct URL. */
interface Target {
  refused: string | null;
  origin: string;
  path: string;
  /** Basic credentials written into the URL (`https://user:pass@host/…`), sent as Authorization. */
  authorization?: string;
}
/** At most this many distinct forward URLs are kept parsed (there is one per account). */
const TARGETS_KEPT = 1_000;

/**
 * POSTs signed forwards to the teams' backends over kept-alive connections (undici: about half the CPU of
 * `node:http` per request, which is most of what a forward costs here). Redirects are never followed (a 3xx is a
 * failed forward): the URL an operator set is the only place a user's message goes.
 */
@Injectable()
export class ForwardClient implements OnApplicationShutdown {
  private readonly agent = new Agent({ connections: 256 });
  private readonly targets = new Map<string, Target>();

  async onApplicationShutdown(): Promise<void> {
    await this.agent.destroy();
  }

  /**
   * One try: resolves with the backend's status and answer, or with why it failed. Never rejects. `timeoutMs` bounds
   * the wait for the answer's headers and each pause in its body.
   */
  post(url: string, body: string, secret: string, timeoutMs = FORWARD_TIMEOUT_MS): Promise<ForwardResult> {
    const target = this.targetOf(url);
    if (target.refused) {
      return Promise.resolve({ ok: false, error: `forward URL refused: ${target.refused}`, permanent: true });
    }
    const bytes = Buffer.from(body, 'utf8');
    return new Promise<ForwardResult>((resolve) => {
      let status = 0;
      let size = 0;
      const chunks: Buffer[] = [];
      // The lowest-level handler undici has: no stream and no promise per answer.
      this.agent.dispatch(
        {
          origin: target.origin,
          path: target.path,
          method: 'POST',
          headers: {
            'content-type': 'application/json; charset=utf-8',
            'x-signature': forwardSignature(secret, bytes),
            'user-agent': 'wechat-login-service/forward',
            ...(target.authorization ? { authorization: target.authorization } : {}),
          },
          body: bytes,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        },
        {
          // Its presence tells undici this is a handler of its current interface; there is nothing to do here.
          onRequestStart: () => undefined,
          onResponseStart: (_controller, statusCode) => {
            status = statusCode;
          },
          onResponseData: (controller, chunk) => {
            size += chunk.length;
            if (size <= MAX_ANSWER_BYTES) {
              chunks.push(chunk);
            } else if (status >= 200 && status < 300) {
              // Too long to be a reply: a 2xx without one, and no need to read the rest.
              resolve({ ok: true, status, body: '' });
              controller.abort(new Error('answer too long'));
            }
          },
          onResponseEnd: () => {
            if (status >= 200 && status < 300) {
              resolve({ ok: true, status, body: Buffer.concat(chunks).toString('utf8') });
            } else {
              resolve({
                ok: false,
                error: status >= 300 && status < 400 ? `HTTP ${status} (redirects are not followed)` : `HTTP ${status}`,
                permanent: false,
              });
            }
          },
          onResponseError: (_controller, error) => {
            const { code, message } = error as NodeJS.ErrnoException;
            const timedOut = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
            resolve({
              ok: false,
              error: timedOut ? `no answer within ${timeoutMs} ms` : (code ?? message),
              permanent: false,
            });
          },
        },
      );
    });
  }

  private targetOf(url: string): Target {
    let target = this.targets.get(url);
    if (!target) {
      const refused = refusedForwardUrl(url);
      const parsed = refused ? undefined : new URL(url);
      target = { refused, origin: parsed?.origin ?? '', path: parsed ? `${parsed.pathname}${parsed.search}` : '' };
      if (parsed && (parsed.username || parsed.password)) {
        const credentials = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
        target.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
      }
      if (this.targets.size >= TARGETS_KEPT) {
        this.targets.clear();
      }
      this.targets.set(url, target);
    }
    return target;
  }
}
