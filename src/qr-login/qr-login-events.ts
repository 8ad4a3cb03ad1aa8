import { BeforeApplicationShutdown, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { PassThrough, Readable } from 'node:stream';
import { ChangeFeed } from 'src/database/change-feed';
import { QR_LOGIN_TOPIC, QrLoginAttempt, QrLoginRepository, QrLoginStatus } from 'src/qr-login/qr-login.repository';

/** A comment line every 15 s keeps proxies and load balancers from closing a quiet stream. */
export const KEEP_ALIVE_MS = 15_000;
/** Streams end with these: nothing follows them. */
const FINAL: ReadonlySet<QrLoginStatus> = new Set(['confirmed', 'denied', 'expired']);
/** Resyncs re-read this many attempts a statement. */
const REREAD_BATCH = 500;
/** The database's clock decides expiry; when the stream's timer fires a little early, it looks again this much later. */
const EXPIRY_RECHECK_MS = 250;

interface Watcher {
  id: string;
  status: QrLoginStatus;
  stream: PassThrough;
  expiryTimer?: NodeJS.Timeout;
}

const statusEvent = (status: QrLoginStatus): string => `event: status\ndata: ${JSON.stringify({ status })}\n\n`;

/**
 * The desktop's Server-Sent Events streams, on whichever instance holds them. A status change made anywhere arrives
 * as a change-feed notification (`qr-login`, the attempt's id) and the streams of that attempt re-read its row; so do
 * all streams after a (re)connect of the listener and every 30 s, so a missed notification costs at most that. Each
 * stream gets the current status first, a keep-alive comment every 15 s, and ends after a final status or at expiry.
 */
@Injectable()
export class QrLoginEvents implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(QrLoginEvents.name);
  private readonly watchers = new Map<string, Set<Watcher>>();
  private keepAliveTimer?: NodeJS.Timeout;
  private unsubscribe: (() => void)[] = [];

  constructor(
    private readonly attempts: QrLoginRepository,
    private readonly feed: ChangeFeed,
  ) {}

  onModuleInit(): void {
    this.unsubscribe = [
      this.feed.subscribe(QR_LOGIN_TOPIC, (change) => this.reread([change.key])),
      this.feed.onResync(() => this.reread([...this.watchers.keys()])),
    ];
  }

  /** Ends every open stream: a stream would otherwise hold the shutdown until its attempt expires. */
  beforeApplicationShutdown(): void {
    this.unsubscribe.forEach((stop) => stop());
    for (const set of this.watchers.values()) {
      for (const watcher of set) {
        watcher.stream.end();
      }
    }
  }

  /** How many streams are open on this instance. */
  get openStreams(): number {
    let count = 0;
    for (const set of this.watchers.values()) {
      count += set.size;
    }
    return count;
  }

  /** A new stream of `attempt` (already checked to be the caller's), starting with its current status. */
  open(attempt: QrLoginAttempt): Readable {
    const stream = new PassThrough();
    const watcher: Watcher = { id: attempt.id, status: attempt.status, stream };
    // Tells EventSource how soon to reconnect after a dropped connection.
    stream.write(`retry: 2000\n${statusEvent(attempt.status)}`);
    if (FINAL.has(attempt.status)) {
      stream.end();
      return stream;
    }
    let set = this.watchers.get(attempt.id);
    if (!set) {
      set = new Set();
      this.watchers.set(attempt.id, set);
    }
    set.add(watcher);
    stream.on('close', () => this.forget(watcher));
    this.scheduleExpiry(watcher, attempt.expiresAt.getTime() - Date.now());
    this.startKeepAlive();
    return stream;
  }

  private scheduleExpiry(watcher: Watcher, inMs: number): void {
    clearTimeout(watcher.expiryTimer);
    watcher.expiryTimer = setTimeout(() => this.reread([watcher.id], true), Math.max(0, inMs));
    watcher.expiryTimer.unref();
  }

  private forget(watcher: Watcher): void {
    clearTimeout(watcher.expiryTimer);
    const set = this.watchers.get(watcher.id);
    set?.delete(watcher);
    if (set?.size === 0) {
      this.watchers.delete(watcher.id);
    }
    if (this.watchers.size === 0 && this.keepAliveTimer) {
      clearInterval(this.keepAliveTimer);
      this.keepAliveTimer = undefined;
    }
  }

  private startKeepAlive(): void {
    if (this.keepAliveTimer) {
      return;
    }
    this.keepAliveTimer = setInterval(() => {
      for (const set of this.watchers.values()) {
        for (const watcher of set) {
          watcher.stream.write(': keep-alive\n\n');
        }
      }
    }, KEEP_ALIVE_MS);
    this.keepAliveTimer.unref();
  }

  /** Re-reads the attempts `ids` that have streams here and tells each stream what changed. */
  private reread(ids: string[], atExpiry = false): void {
    const watched = ids.filter((id) => this.watchers.has(id));
    for (let i = 0; i < watched.length; i += REREAD_BATCH) {
      const batch = watched.slice(i, i + REREAD_BATCH);
      this.attempts.statuses(batch).then(
        (rows) => {
          const found = new Map(rows.map((row) => [row.id, row.status]));
          for (const id of batch) {
            // A row gone (deleted by retention) is as good as expired.
            this.publish(id, found.get(id) ?? 'expired', atExpiry);
          }
        },
        (error: unknown) =>
          this.logger.warn(`Re-reading ${batch.length} scan-to-login attempts failed: ${String(error)}`),
      );
    }
  }

  private publish(id: string, status: QrLoginStatus, atExpiry: boolean): void {
    for (const watcher of [...(this.watchers.get(id) ?? [])]) {
      if (status !== watcher.status) {
        watcher.status = status;
        watcher.stream.write(statusEvent(status));
      }
      if (FINAL.has(status)) {
        this.forget(watcher);
        watcher.stream.end();
      } else if (atExpiry) {
        this.scheduleExpiry(watcher, EXPIRY_RECHECK_MS);
      }
    }
  }
}
