import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Client } from 'pg';
import { getPGliteInstance } from 'typeorm-pglite';
import type { Configuration } from 'src/config/configuration';

/** The one PostgreSQL channel every instance listens on for news of the others. */
export const CHANGE_CHANNEL = 'wechat_changes';
/** `application_name` of the listening connection, so that an operator (or a test) can find it in pg_stat_activity. */
export const LISTENER_APPLICATION_NAME = 'wechat-change-feed';
/** How often every subscriber re-reads its state anyway: the safety net for a notification that never arrived. */
export const RESYNC_INTERVAL_MS = 30_000;
const RECONNECT_FIRST_MS = 50;
const RECONNECT_MAX_MS = 2_000;

/** A change another instance (or this one) made: `topic` says which kind of state, `key` which row of it. */
export interface Change {
  topic: string;
  key: string;
  /** Optional detail, e.g. the hash of a new token; never a secret. */
  detail?: string;
}

type ChangeHandler = (change: Change) => void;
type ResyncHandler = () => void;

/** The listening end: PostgreSQL over a dedicated connection, or the embedded database in-process. */
interface Listener {
  start(deliver: (payload: string) => void, onLost: () => void): Promise<void>;
  stop(): Promise<void>;
}

/** A dedicated node-postgres connection holding `LISTEN`; it reports its loss and is replaced by a new one. */
class PostgresListener implements Listener {
  private client?: Client;

  constructor(private readonly url: string) {}

  async start(deliver: (payload: string) => void, onLost: () => void): Promise<void> {
    const client = new Client({ connectionString: this.url, application_name: LISTENER_APPLICATION_NAME });
    let lost = false;
    const lose = () => {
      if (!lost) {
        lost = true;
        client.removeAllListeners('notification');
        void client.end().catch(() => undefined);
        onLost();
      }
    };
    client.on('error', lose);
    client.on('end', lose);
    client.on('notification', (message) => {
      if (message.channel === CHANGE_CHANNEL && message.payload !== undefined) {
        deliver(message.payload);
      }
    });
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGE_CHANNEL}`);
    } catch (error) {
      client.removeAllListeners('end');
      client.removeAllListeners('error');
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners('end');
      client.removeAllListeners('error');
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
    }
  }
}

/** The embedded database's own LISTEN: notifications of the one process's sessions, delivered in-process. */
class EmbeddedListener implements Listener {
  private unlisten?: () => Promise<void>;

  async start(deliver: (payload: string) => void): Promise<void> {
    const pglite = await getPGliteInstance();
    this.unlisten = await pglite.listen(CHANGE_CHANNEL, deliver);
  }

  async stop(): Promise<void> {
    await this.unlisten?.().catch(() => undefined);
    this.unlisten = undefined;
  }
}

/**
 * Cross-instance news through PostgreSQL `LISTEN/NOTIFY` on one channel. A writer publishes a {@link Change} in the
 * same transaction as the change itself (`notifySql`), so the others hear of it exactly when it is committed; each
 * instance's subscribers drop or re-read what the change concerns. The listening connection reconnects by itself;
 * after every (re)connect, and every 30 s besides, subscribers are told to resync (a notification sent while the
 * connection was down is lost). On the embedded database the same works in-process.
 */
@Injectable()
export class ChangeFeed implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ChangeFeed.name);
  private readonly handlers = new Map<string, Set<ChangeHandler>>();
  private readonly resyncHandlers = new Set<ResyncHandler>();
  private readonly listener: Listener;
  private listening = false;
  private stopped = false;
  private reconnectDelay = RECONNECT_FIRST_MS;
  private reconnectTimer?: NodeJS.Timeout;
  private resyncTimer?: NodeJS.Timeout;

  constructor(config: ConfigService<Configuration, true>) {
    const { url } = config.get('database', { infer: true });
    this.listener = url ? new PostgresListener(url) : new EmbeddedListener();
  }

  /** The statement (and its parameters) that publishes `change`; run it inside the transaction that makes it. */
  static notifySql(change: Change): [string, unknown[]] {
    return ['SELECT pg_notify($1, $2)', [CHANGE_CHANNEL, JSON.stringify(change)]];
  }

  /** True while the listening connection is up: only then can a memory copy trust that it hears of changes. */
  get connected(): boolean {
    return this.listening;
  }

  /** Calls `handler` for every change of `topic`; returns the unsubscribe function. */
  subscribe(topic: string, handler: ChangeHandler): () => void {
    let set = this.handlers.get(topic);
    if (!set) {
      set = new Set();
      this.handlers.set(topic, set);
    }
    set.add(handler);
    return () => set.delete(handler);
  }

  /** Calls `handler` after every (re)connect of the listener and every 30 s: re-read, something may have been missed. */
  onResync(handler: ResyncHandler): () => void {
    this.resyncHandlers.add(handler);
    return () => this.resyncHandlers.delete(handler);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.resyncTimer = setInterval(() => this.resync(), RESYNC_INTERVAL_MS);
    this.resyncTimer.unref();
    await this.connect().catch((error: unknown) => {
      this.logger.warn(`Could not listen for changes of other instances yet: ${String(error)}`);
      this.scheduleReconnect();
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.resyncTimer);
    clearTimeout(this.reconnectTimer);
    this.listening = false;
    await this.listener.stop();
  }

  private async connect(): Promise<void> {
    await this.listener.start(
      (payload) => this.deliver(payload),
      () => this.lost(),
    );
    if (this.stopped) {
      await this.listener.stop();
      return;
    }
    this.listening = true;
    this.reconnectDelay = RECONNECT_FIRST_MS;
    this.resync();
  }

  private lost(): void {
    if (this.stopped) {
      return;
    }
    this.listening = false;
    this.logger.warn('The connection listening for changes of other instances was lost; reconnecting');
    // Until it is back, nothing may be trusted from memory: subscribers re-read now and on reconnect.
    this.resync();
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer) {
      return;
    }
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(RECONNECT_MAX_MS, this.reconnectDelay * 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect().then(
        () => this.logger.log('Listening for changes of other instances again'),
        () => this.scheduleReconnect(),
      );
    }, delay);
    this.reconnectTimer.unref();
  }

  private deliver(payload: string): void {
    let change: Change;
    try {
      change = JSON.parse(payload) as Change;
    } catch {
      this.logger.warn('Ignored a change notification that is not JSON');
      return;
    }
    for (const handler of this.handlers.get(change.topic) ?? []) {
      this.safely(() => handler(change));
    }
  }

  private resync(): void {
    for (const handler of this.resyncHandlers) {
      this.safely(handler);
    }
  }

  private safely(run: () => void): void {
    try {
      run();
    } catch (error) {
      this.logger.error(`A change subscriber failed: ${String(error)}`);
    }
  }
}
