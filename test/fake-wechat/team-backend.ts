import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A forward as the team's backend received it. */
export interface ReceivedForward {
  body: Record<string, unknown>;
  raw: string;
  signature: string | undefined;
  /** `X-Signature` checked against the raw bytes with the shared secret, as a backend should. */
  signatureValid: boolean;
  at: number;
}

/**
 * The inbound record's key of a forwarded message (`msg:<MsgId>`, `event:<openid>:<CreateTime>:<Event>`, …), made from
 * the forward's JSON as the service's dedupeKey makes it from the XML: what a backend would drop duplicates by if it
 * had no `id`, and what tests match forwards to deliveries with.
 */
export function forwardedKey(body: Record<string, unknown>): string {
  if (typeof body.msgId === 'string' && body.msgId) {
    return `msg:${body.msgId}`;
  }
  if (typeof body.event === 'string') {
    return `event:${String(body.openid)}:${String(body.createTime)}:${body.event}`;
  }
  return `other:${String(body.openid)}:${String(body.createTime)}:${String(body.msgType)}`;
}

/** How the backend answers one forward: an HTTP status, a body, and how long it takes. */
export interface BackendAnswer {
  status?: number;
  body?: unknown;
  delayMs?: number;
}

/** The keyword the sandbox's backend answers late to (after WeChat's 5 s), so the reply arrives as a custom message. */
export const LATE_KEYWORD = '稍后';

/** The sandbox's behaviour: echo a text back; answer the late keyword after 6 s; other messages, no reply. */
export function echoBehaviour(forward: Record<string, unknown>): BackendAnswer {
  const fields = (forward.fields ?? {}) as Record<string, string>;
  if (forward.msgType !== 'text') {
    return { status: 200, body: {} };
  }
  const content = fields.Content ?? '';
  const reply = { reply: { type: 'text', content: `后端收到：${content}` } };
  return content.includes(LATE_KEYWORD) ? { status: 200, body: reply, delayMs: 6000 } : { status: 200, body: reply };
}

/** Checks `X-Signature: sha256=<hex>` over the raw body, in constant time: the backend's side of the contract. */
export function verifyForwardSignature(secret: string, raw: Buffer, header: string | undefined): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`);
  const given = Buffer.from(header ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * A tiny "team backend" that forwards are sent to: it checks each signature, records what it got, and answers as
 * `behaviour` says (tests swap it; the sandbox uses `echoBehaviour`). A forward with a bad signature gets 401.
 */
export class TeamBackend {
  readonly received: ReceivedForward[] = [];
  behaviour: (forward: Record<string, unknown>) => BackendAnswer = echoBehaviour;
  private server?: Server;

  /** `keepReceived` false: remember nothing (a long benchmark run). */
  constructor(
    private readonly secret: string,
    private readonly keepReceived = true,
  ) {}

  get url(): string {
    const address = this.server?.address() as AddressInfo | null;
    if (!address) {
      throw new Error('TeamBackend is not started');
    }
    return `http://127.0.0.1:${address.port}/wechat/forward`;
  }

  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    this.server = createServer((req, res) => {
      if (req.method === 'GET') {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ received: this.received.length }));
        return;
      }
      void this.read(req).then(async (raw) => {
        const signature = req.headers['x-signature'] as string | undefined;
        const signatureValid = verifyForwardSignature(this.secret, raw, signature);
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
        } catch {
          body = {};
        }
        if (this.keepReceived) {
          this.received.push({ body, raw: raw.toString('utf8'), signature, signatureValid, at: Date.now() });
        }
        if (!signatureValid) {
          res.writeHead(401).end();
          return;
        }
        const answer = this.behaviour(body);
        if (answer.delayMs) {
          await new Promise((resolve) => setTimeout(resolve, answer.delayMs).unref());
        }
        if (res.destroyed) {
          return;
        }
        res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' });
        res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
      });
    });
    this.server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve) => this.server!.listen(port, host, resolve));
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) {
      return;
    }
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The request's body (events, not an async iterator: the bench's backend shares a core with the load). */
  private read(req: IncomingMessage): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('error', reject);
    });
  }
}
