import { request as httpRequest } from 'node:http';

/** A browser's cookies, per host, sent back to the host that set them (paths ignored: the tests need no more). */
export class CookieJar {
  private readonly byHost = new Map<string, Map<string, string>>();

  header(url: string): string {
    const cookies = this.byHost.get(new URL(url).host) ?? new Map<string, string>();
    return [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  get(url: string, name: string): string | undefined {
    return this.byHost.get(new URL(url).host)?.get(name);
  }

  take(url: string, setCookie: string[]): void {
    const host = new URL(url).host;
    const cookies = this.byHost.get(host) ?? new Map<string, string>();
    this.byHost.set(host, cookies);
    for (const line of setCookie) {
      const [pair] = line.split(';');
      const index = pair.indexOf('=');
      cookies.set(pair.slice(0, index).trim(), pair.slice(index + 1).trim());
    }
  }
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** The URL that answered last (after the redirects followed). */
  url: string;
}

/** A browser without a screen: fetch with a cookie jar, following redirects across hosts as a browser does. */
export class TestBrowser {
  readonly jar = new CookieJar();

  async get(url: string, follow = true): Promise<Answer> {
    return this.send(url, { method: 'GET' }, follow);
  }

  async postForm(url: string, form: Record<string, string>): Promise<Answer> {
    return this.send(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
      },
      true,
    );
  }

  async postJson(url: string, body: unknown): Promise<Answer> {
    return this.send(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
      false,
    );
  }

  private async send(url: string, init: RequestInit, follow: boolean): Promise<Answer> {
    let current = url;
    let options = init;
    for (let hop = 0; hop < 10; hop += 1) {
      const headers = new Headers(options.headers);
      const cookie = this.jar.header(current);
      if (cookie) {
        headers.set('cookie', cookie);
      }
      headers.set('accept', 'text/html,application/json');
      const res = await fetch(current, { ...options, headers, redirect: 'manual' });
      this.jar.take(current, res.headers.getSetCookie());
      const location = res.headers.get('location');
      if (follow && location && res.status >= 300 && res.status < 400) {
        current = new URL(location, current).toString();
        options = { method: 'GET' };
        continue;
      }
      return { status: res.status, headers: res.headers, text: await res.text(), url: current };
    }
    throw new Error(`too many redirects from ${url}`);
  }
}

export interface SseEvent {
  event?: string;
  data?: string;
}

/** An open Server-Sent Events stream, read as EventSource would (events and comments), until the server ends it. */
export interface SseStream {
  status: number;
  contentType?: string;
  events: SseEvent[];
  comments: string[];
  /** Resolves when the server closed the stream. */
  closed: Promise<void>;
  /** Resolves when an `event: status` with this status has arrived (at once if it already did). */
  waitForStatus(status: string, timeoutMs?: number): Promise<number>;
  statuses(): string[];
  close(): void;
}

export function openSse(url: string, cookie: string): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { cookie, accept: 'text/event-stream' } }, (res) => {
      const events: SseEvent[] = [];
      const comments: string[] = [];
      const waiters: { status: string; resolve: (at: number) => void }[] = [];
      let buffer = '';
      res.setEncoding('utf8');
      const statuses = () =>
        events
          .filter((each) => each.event === 'status')
          .map((each) => (JSON.parse(each.data ?? '{}') as { status: string }).status);
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: SseEvent = {};
          let isEvent = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) {
              comments.push(line.slice(1).trim());
            } else if (line.startsWith('event:')) {
              event.event = line.slice(6).trim();
              isEvent = true;
            } else if (line.startsWith('data:')) {
              event.data = line.slice(5).trim();
              isEvent = true;
            }
          }
          if (isEvent) {
            events.push(event);
            const now = statuses();
            for (const waiter of [...waiters]) {
              if (now.includes(waiter.status)) {
                waiters.splice(waiters.indexOf(waiter), 1);
                waiter.resolve(Date.now());
              }
            }
          }
        }
      });
      const closed = new Promise<void>((done) => {
        res.on('end', done);
        res.on('close', done);
      });
      resolve({
        status: res.statusCode ?? 0,
        contentType: res.headers['content-type'],
        events,
        comments,
        closed,
        statuses,
        waitForStatus(status, timeoutMs = 5000) {
          if (statuses().includes(status)) {
            return Promise.resolve(Date.now());
          }
          return new Promise((done, fail) => {
            const timer = setTimeout(() => fail(new Error(`no "${status}" within ${timeoutMs} ms`)), timeoutMs);
            waiters.push({
              status,
              resolve: (at) => {
                clearTimeout(timer);
                done(at);
              },
            });
          });
        },
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}
