import { randomBytes } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { registerControlRoutes } from 'test/fake-wechat/routes/control.routes';
import { registerMenuRoutes } from 'test/fake-wechat/routes/menu.routes';
import { registerMessageRoutes } from 'test/fake-wechat/routes/message.routes';
import { registerMiniProgramRoutes } from 'test/fake-wechat/routes/mini-program.routes';
import { registerOAuthRoutes } from 'test/fake-wechat/routes/oauth.routes';
import { registerQrCodeRoutes } from 'test/fake-wechat/routes/qrcode.routes';
import { registerTicketRoutes } from 'test/fake-wechat/routes/ticket.routes';
import { registerTokenRoutes } from 'test/fake-wechat/routes/token.routes';

/**
 * A local stand-in for WeChat's servers (api.weixin.qq.com and open.weixin.qq.com), faithful to WeChat's documented
 * shapes and error codes. Tests drive it in-process; `npm run emulator` and `npm run sandbox` run it standalone and
 * drive it over HTTP under `/__control/`. Route groups live in `routes/`, one file per WeChat product.
 */

export interface FakeApp {
  appid: string;
  secret: string;
  kind: 'official_account' | 'mini_program';
}

/** A failure to inject into the next call(s) of a path. */
export type Fault =
  { errcode: number; errmsg?: string } | { httpStatus: number } | { delayMs: number } | { garbage: true };

export interface RecordedCall {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  at: number;
}

export interface FakeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Parsed JSON body when the body is JSON, else the raw text. */
  body: unknown;
  rawBody: string;
  headers: IncomingMessage['headers'];
}

export interface FakeResponse {
  status?: number;
  /** A JSON body, or a string sent as is with `contentType`. */
  body: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

export type RouteHandler = (request: FakeRequest) => FakeResponse | Promise<FakeResponse>;

export interface FakeWeChatOptions {
  apps?: FakeApp[];
  /** Lifetime of issued access tokens in seconds (WeChat: 7200). */
  tokenTtlSeconds?: number;
  /** Lifetime of issued JS-SDK / card tickets in seconds (WeChat: 7200). */
  ticketTtlSeconds?: number;
}

export const DEMO_APPS: FakeApp[] = [
  { appid: 'wxd0e1m2o3a4c5c6t7', secret: 'demo-official-account-secret', kind: 'official_account' },
  { appid: 'wxd0e1m2o3m4p5p6g7', secret: 'demo-mini-program-secret', kind: 'mini_program' },
];

export class FakeWeChat {
  readonly apps = new Map<string, FakeApp>();
  readonly routes = new Map<string, RouteHandler>();
  readonly calls: RecordedCall[] = [];
  readonly faults = new Map<string, { fault: Fault; remaining: number }[]>();
  tokenTtlSeconds: number;
  ticketTtlSeconds: number;
  /** Simulated clock offset, so tests can move time forward (token expiry, code expiry). */
  clockOffsetMs = 0;
  /** Per-product state, owned by the route files (keyed by a name each picks). */
  readonly state = new Map<string, unknown>();
  private server?: Server;

  constructor(options: FakeWeChatOptions = {}) {
    for (const app of options.apps ?? DEMO_APPS) {
      this.apps.set(app.appid, app);
    }
    this.tokenTtlSeconds = options.tokenTtlSeconds ?? 7200;
    this.ticketTtlSeconds = options.ticketTtlSeconds ?? 7200;
    registerTokenRoutes(this);
    registerTicketRoutes(this);
    registerMiniProgramRoutes(this);
    registerOAuthRoutes(this);
    registerControlRoutes(this);
    registerMenuRoutes(this);
    registerQrCodeRoutes(this);
    registerMessageRoutes(this);
  }

  /** Adds an app (or replaces the one with its appid), as if it had been registered with WeChat. */
  addApp(app: FakeApp): void {
    this.apps.set(app.appid, { ...app });
  }

  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  /** Registers a handler for `METHOD /path` (method `*` for any). */
  route(method: string, path: string, handler: RouteHandler): void {
    this.routes.set(`${method} ${path}`, handler);
  }

  /** Per-product state, created on first use. */
  stateOf<T>(key: string, create: () => T): T {
    if (!this.state.has(key)) {
      this.state.set(key, create());
    }
    return this.state.get(key) as T;
  }

  /** Makes the next `times` calls of `path` fail with `fault` (times = Infinity: until cleared). */
  inject(path: string, fault: Fault, times = 1): void {
    const queue = this.faults.get(path) ?? [];
    queue.push({ fault, remaining: times });
    this.faults.set(path, queue);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /** How many calls reached `path` (faulted ones included). */
  callCount(path: string): number {
    return this.calls.filter((call) => call.path === path).length;
  }

  callsTo(path: string): RecordedCall[] {
    return this.calls.filter((call) => call.path === path);
  }

  resetCalls(): void {
    this.calls.length = 0;
  }

  randomToken(bytes = 48): string {
    return randomBytes(bytes).toString('base64url');
  }

  get url(): string {
    const address = this.server?.address() as AddressInfo | null;
    if (!address) {
      throw new Error('FakeWeChat is not started');
    }
    return `http://127.0.0.1:${address.port}`;
  }

  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
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

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
      chunks.push(chunk as Buffer);
    }
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams.entries());
    let body: unknown = rawBody;
    if (rawBody && /json/.test(req.headers['content-type'] ?? '')) {
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = rawBody;
      }
    } else if (rawBody && /^\s*[{[]/.test(rawBody)) {
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = rawBody;
      }
    }
    const request: FakeRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query,
      body,
      rawBody,
      headers: req.headers,
    };
    const isControl = url.pathname.startsWith('/__control/');
    if (!isControl) {
      this.calls.push({ method: request.method, path: request.path, query, body, at: Date.now() });
    }
    let response: FakeResponse;
    try {
      const fault = isControl ? undefined : this.takeFault(url.pathname);
      if (fault && 'delayMs' in fault) {
        // unref: a stalled answer must not keep a finished test process alive.
        await new Promise((resolve) => setTimeout(resolve, fault.delayMs).unref());
        if (res.destroyed) {
          return;
        }
      }
      if (fault && 'httpStatus' in fault) {
        response = {
          status: fault.httpStatus,
          body: `<html><body>${fault.httpStatus}</body></html>`,
          contentType: 'text/html',
        };
      } else if (fault && 'garbage' in fault) {
        response = { body: '<html>not json', contentType: 'text/html' };
      } else if (fault && 'errcode' in fault) {
        response = { body: { errcode: fault.errcode, errmsg: fault.errmsg ?? `injected error ${fault.errcode}` } };
      } else {
        const handler = this.routes.get(`${request.method} ${request.path}`) ?? this.routes.get(`* ${request.path}`);
        if (handler) {
          response = await handler(request);
        } else {
          // Loud on purpose: an unmocked call is a bug in the test or in the emulator.
          console.error(`FakeWeChat: no route for ${request.method} ${request.path}`);
          response = {
            status: 404,
            body: { errcode: 99999, errmsg: `FakeWeChat has no route ${request.method} ${request.path}` },
          };
        }
      }
    } catch (error) {
      console.error('FakeWeChat: handler failed', error);
      response = { status: 500, body: { errcode: -1, errmsg: 'system error' } };
    }
    if (res.destroyed) {
      return;
    }
    const isString = typeof response.body === 'string';
    res.writeHead(response.status ?? 200, {
      'content-type':
        response.contentType ?? (isString ? 'text/plain; charset=utf-8' : 'application/json; encoding=utf-8'),
      ...response.headers,
    });
    res.end(isString ? (response.body as string) : JSON.stringify(response.body));
  }

  private takeFault(path: string): Fault | undefined {
    const queue = this.faults.get(path);
    const next = queue?.[0];
    if (!next) {
      return undefined;
    }
    next.remaining -= 1;
    if (next.remaining <= 0) {
      queue.shift();
    }
    return next.fault;
  }
}

/** WeChat's error answer. */
export function wechatError(errcode: number, errmsg: string): FakeResponse {
  return { body: { errcode, errmsg: `${errmsg} rid: ${randomBytes(4).toString('hex')}` } };
}
