import type { Readable } from 'node:stream';
import type { Change, ChangeFeed } from 'src/database/change-feed';
import { KEEP_ALIVE_MS, QrLoginEvents } from 'src/qr-login/qr-login-events';
import type { QrLoginAttempt, QrLoginRepository, QrLoginStatus } from 'src/qr-login/qr-login.repository';

/** A change feed that the test drives by hand. */
class FakeFeed {
  handlers: ((change: Change) => void)[] = [];
  resyncs: (() => void)[] = [];
  subscribe(_topic: string, handler: (change: Change) => void) {
    this.handlers.push(handler);
    return () => undefined;
  }
  onResync(handler: () => void) {
    this.resyncs.push(handler);
    return () => undefined;
  }
}

const attempt = (id: string, status: QrLoginStatus, expiresInMs: number): QrLoginAttempt => ({
  id,
  appid: 'wx0000000000000001',
  scene: 'login_x',
  status,
  openid: null,
  returnTo: '/',
  createdAt: new Date(),
  expiresAt: new Date(Date.now() + expiresInMs),
  consumedAt: null,
});

function collect(stream: Readable): { text: () => string; ended: () => boolean } {
  let text = '';
  let ended = false;
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => (text += chunk));
  stream.on('end', () => (ended = true));
  return { text: () => text, ended: () => ended };
}

/** Lets the stream deliver what was written (its events come on the next ticks). */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe(QrLoginEvents.name, () => {
  let rows: Map<string, QrLoginStatus>;
  let feed: FakeFeed;
  let sut: QrLoginEvents;
  let reads: string[][];

  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    rows = new Map();
    reads = [];
    feed = new FakeFeed();
    const repository = {
      statuses: (ids: string[]) => {
        reads.push(ids);
        return Promise.resolve(ids.filter((id) => rows.has(id)).map((id) => ({ id, status: rows.get(id)! })));
      },
    } as unknown as QrLoginRepository;
    sut = new QrLoginEvents(repository, feed as unknown as ChangeFeed);
    sut.onModuleInit();
  });

  afterEach(() => {
    sut.beforeApplicationShutdown();
    jest.useRealTimers();
  });

  it('should send the current status first and a keep-alive comment every 15 s', async () => {
    rows.set('a', 'pending');
    const out = collect(sut.open(attempt('a', 'pending', 300_000)));
    await flush();
    expect(out.text()).toBe('retry: 2000\nevent: status\ndata: {"status":"pending"}\n\n');
    jest.advanceTimersByTime(KEEP_ALIVE_MS - 1);
    await flush();
    expect(out.text()).not.toContain('keep-alive');
    jest.advanceTimersByTime(1);
    await flush();
    expect(out.text().match(/: keep-alive\n\n/g)).toHaveLength(1);
    jest.advanceTimersByTime(KEEP_ALIVE_MS);
    await flush();
    expect(out.text().match(/: keep-alive\n\n/g)).toHaveLength(2);
  });

  it('should re-read the row on a change and end after a final status', async () => {
    rows.set('a', 'pending');
    const out = collect(sut.open(attempt('a', 'pending', 300_000)));
    rows.set('a', 'scanned');
    feed.handlers.forEach((handler) => handler({ topic: 'qr-login', key: 'a', detail: 'scanned' }));
    await flush();
    expect(out.text()).toContain('data: {"status":"scanned"}');
    rows.set('a', 'confirmed');
    feed.handlers.forEach((handler) => handler({ topic: 'qr-login', key: 'a' }));
    await flush();
    expect(out.text()).toContain('data: {"status":"confirmed"}');
    expect(out.ended()).toBe(true);
    expect(sut.openStreams).toBe(0);
  });

  it('should ignore changes of attempts it holds no stream for, and catch up on a resync', async () => {
    rows.set('a', 'pending');
    const out = collect(sut.open(attempt('a', 'pending', 300_000)));
    feed.handlers.forEach((handler) => handler({ topic: 'qr-login', key: 'other' }));
    await flush();
    expect(reads).toEqual([]);
    rows.set('a', 'scanned');
    feed.resyncs.forEach((resync) => resync());
    await flush();
    expect(reads).toEqual([['a']]);
    expect(out.text()).toContain('data: {"status":"scanned"}');
  });

  it('should end with expired at the expiry, looking again when the database says not yet', async () => {
    rows.set('a', 'pending');
    const out = collect(sut.open(attempt('a', 'pending', 1_000)));
    jest.advanceTimersByTime(1_000);
    await flush();
    expect(out.ended()).toBe(false);
    rows.set('a', 'expired');
    jest.advanceTimersByTime(250);
    await flush();
    expect(out.text()).toContain('data: {"status":"expired"}');
    expect(out.ended()).toBe(true);
  });

  it('should end a stream at once for a final status, and every stream at shutdown', async () => {
    const done = collect(sut.open(attempt('a', 'denied', 300_000)));
    await flush();
    expect(done.ended()).toBe(true);
    const open = collect(sut.open(attempt('b', 'pending', 300_000)));
    expect(sut.openStreams).toBe(1);
    sut.beforeApplicationShutdown();
    await flush();
    expect(open.ended()).toBe(true);
  });
});
