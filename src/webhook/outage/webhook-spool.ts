import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { mkdir, open, readdir, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Configuration } from 'src/config/configuration';

/** A delivery the database could not record: enough to record it (and run its steps) later. */
export interface SpooledDelivery {
  /** The official account's appid as the delivery resolved it; null for the default account without one. */
  appid: string | null;
  /** The message's top-level fields as WeChat sent them (what `InboundMessage.raw` holds). */
  fields: Record<string, string>;
  encrypted: boolean;
  /** When it arrived (epoch ms). */
  receivedAt: number;
}

/** A segment's name: `<epoch ms, 13 digits>-<pid>-<sequence>.ndjson`, so sorting names sorts by age. */
const SEGMENT = /^(\d{13})-(\d+)-(\d+)\.ndjson$/;

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The local durable spool of the webhook's outage path: an append-only file of deliveries, one JSON line each, each
 * written and fsync'd before the delivery is answered. Appends go to the process's active segment; `seal()` closes it
 * for replay, and the next append opens a new one, so a replay never reads a file that is still being written.
 *
 * Segments are named by creation time and process id: an instance replays its own sealed segments and those of
 * processes that no longer run (one killed before it replayed), never those of a live one sharing the folder.
 * A line cut short by a crash is skipped: its delivery was never answered, so WeChat retried it.
 */
@Injectable()
export class WebhookSpool implements OnApplicationShutdown {
  private readonly logger = new Logger(WebhookSpool.name);
  private readonly dir: string;
  private active: { path: string; handle: FileHandle; entries: number } | null = null;
  private sealed: string[] = [];
  private sequence = 0;
  /** Appends and seals run one after another: one write and one fsync at a time. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(config: ConfigService<Configuration, true>) {
    this.dir = resolve(config.get('webhook', { infer: true }).spoolDir);
  }

  /** Resolves once `delivery` is on disk (written and fsync'd); rejects when it could not be. */
  append(delivery: SpooledDelivery): Promise<void> {
    const line = `${JSON.stringify(delivery)}\n`;
    return this.serially(async () => {
      const segment = this.active ?? (await this.openSegment());
      try {
        await segment.handle.appendFile(line, 'utf8');
        await segment.handle.datasync();
      } catch (error) {
        // A partial line must not run into the next delivery's: the next append starts a new segment.
        this.active = null;
        await segment.handle.close().catch(() => undefined);
        if (segment.entries > 0) {
          this.sealed.push(segment.path);
        }
        throw error;
      }
      segment.entries += 1;
    });
  }

  /** True when this process has spooled deliveries not yet replayed. */
  get hasPending(): boolean {
    return this.sealed.length > 0 || (this.active?.entries ?? 0) > 0;
  }

  /**
   * The segments to replay now, oldest first: the active one (sealed here), this process's sealed ones and those of
   * processes that no longer run.
   */
  segmentsToReplay(): Promise<string[]> {
    return this.serially(async () => {
      if (this.active && this.active.entries > 0) {
        const { path, handle } = this.active;
        this.active = null;
        await handle.close();
        this.sealed.push(path);
      }
      let names: string[];
      try {
        names = await readdir(this.dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          return [];
        }
        throw error;
      }
      const own = new Set(this.sealed);
      const activePath = this.active?.path;
      return names
        .filter((name) => {
          const match = SEGMENT.exec(name);
          if (!match) {
            return false;
          }
          const path = join(this.dir, name);
          const pid = Number(match[2]);
          return path !== activePath && (own.has(path) || (pid !== process.pid && !processIsAlive(pid)));
        })
        .sort()
        .map((name) => join(this.dir, name));
    });
  }

  /** The deliveries of one segment, in the order they were spooled. */
  async read(path: string): Promise<SpooledDelivery[]> {
    const text = await readFile(path, 'utf8');
    const deliveries: SpooledDelivery[] = [];
    for (const line of text.split('\n')) {
      if (!line) {
        continue;
      }
      try {
        deliveries.push(JSON.parse(line) as SpooledDelivery);
      } catch {
        this.logger.warn(`Skipped a torn line in ${path} (its delivery was never answered)`);
      }
    }
    return deliveries;
  }

  /** Forgets a segment once every delivery in it is recorded. */
  async remove(path: string): Promise<void> {
    await unlink(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') {
        throw error;
      }
    });
    this.sealed = this.sealed.filter((sealed) => sealed !== path);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.serially(async () => {
      await this.active?.handle.close();
      this.active = null;
    });
  }

  private async openSegment(): Promise<{ path: string; handle: FileHandle; entries: number }> {
    await mkdir(this.dir, { recursive: true });
    this.sequence += 1;
    const path = join(this.dir, `${String(Date.now()).padStart(13, '0')}-${process.pid}-${this.sequence}.ndjson`);
    const handle = await open(path, 'a');
    // The new name must survive a power cut too: fsync the folder once per segment.
    const folder = await open(this.dir, 'r');
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
    this.logger.warn(`Spooling webhook deliveries to ${path} until the database records them`);
    this.active = { path, handle, entries: 0 };
    return this.active;
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work, work);
    this.chain = next.catch(() => undefined);
    return next;
  }
}
