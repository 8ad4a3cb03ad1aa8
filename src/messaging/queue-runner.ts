import { Logger } from '@nestjs/common';

export interface QueueRunnerOptions<T> {
  name: string;
  /** Claims up to `limit` due jobs. */
  claim(limit: number): Promise<T[]>;
  /** Works one claimed job; must not reject (it records its own outcome). */
  work(job: T): Promise<void>;
  /** Jobs worked at once. */
  concurrency: number;
  /** How often an idle runner looks for due jobs (others' queued jobs, retries whose time came, lapsed leases). */
  pollMs: number;
}

/**
 * Drains a queue table: claims due jobs while it has free slots, works them concurrently, and between claims waits
 * for `wake()` (a job queued by this instance) or `pollMs`. A claim that filled every free slot is followed at once
 * by another as slots free up, so a backlog drains at the speed of the work.
 */
export class QueueRunner<T> {
  private readonly logger: Logger;
  private running = false;
  private inFlight = 0;
  private timer?: NodeJS.Timeout;
  private waiter?: () => void;
  /** A wake() that came while the loop was not waiting: the next wait returns at once. */
  private woken = false;
  private loop?: Promise<void>;
  private readonly idle = new Set<() => void>();

  constructor(private readonly options: QueueRunnerOptions<T>) {
    this.logger = new Logger(`QueueRunner(${options.name})`);
  }

  start(): void {
    if (this.running) {
      return;
    }
    this.running = true;
    this.loop = this.run();
  }

  /** Looks for due jobs now (a job was just queued here). */
  wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter) {
      waiter();
    } else {
      this.woken = true;
    }
  }

  /** Stops claiming and waits for the jobs in hand to finish. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    while (this.inFlight > 0) {
      await new Promise<void>((resolve) => this.idle.add(resolve));
    }
  }

  private async run(): Promise<void> {
    let errors = 0;
    while (this.running) {
      const free = this.options.concurrency - this.inFlight;
      // Claim in chunks: one statement per quarter of the slots rather than one per freed slot.
      if (free < Math.max(1, this.options.concurrency / 4) && this.inFlight > 0) {
        await this.sleep(this.options.pollMs);
        continue;
      }
      let jobs: T[];
      try {
        jobs = await this.options.claim(free);
        errors = 0;
      } catch (error) {
        errors += 1;
        if (errors === 1 || errors % 50 === 0) {
          this.logger.warn(`Could not claim jobs: ${String(error)}`);
        }
        await this.sleep(this.options.pollMs);
        continue;
      }
      for (const job of jobs) {
        this.inFlight += 1;
        void this.options
          .work(job)
          .catch((error: unknown) => this.logger.error(`A job failed unexpectedly: ${String(error)}`))
          .finally(() => {
            this.inFlight -= 1;
            if (this.inFlight === 0) {
              for (const resolve of this.idle) {
                resolve();
              }
              this.idle.clear();
            }
            this.wake();
          });
      }
      if (jobs.length < free) {
        await this.sleep(this.options.pollMs);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    if (!this.running || this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.waiter = () => {
        clearTimeout(this.timer);
        resolve();
      };
      this.timer = setTimeout(() => this.wake(), ms);
    });
  }
}
