import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Sql } from 'src/database/sql';
import { RetentionPolicy, RetentionRegistry } from 'src/retention/retention.registry';

/** Rows deleted by one statement: a short transaction, a bounded lock footprint and WAL burst. */
export const RETENTION_BATCH = 10_000;
/** How often retention runs. */
export const RETENTION_INTERVAL_MS = 10 * 60_000;
/** Batches of one table in one run: a backlog is worked off over several runs rather than in one long one. */
const MAX_BATCHES_PER_RUN = 100;
/** Arbitrary, fixed key of the advisory lock that lets one instance at a time run retention. */
const RETENTION_LOCK_KEY = 72_430_002;

/**
 * Deletes what the registered policies say may go, every RETENTION_INTERVAL_MS, in batches of RETENTION_BATCH rows
 * (each its own statement and commit), on one instance at a time (the others skip that run). Each batch picks the
 * rows by the policy's condition through its index and deletes them by their physical address (a TID scan).
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RetentionService.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(
    private readonly registry: RetentionRegistry,
    private readonly sql: Sql,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.running ??= this.runOnce()
        .catch((error: unknown) => this.logger.warn(`Retention run failed: ${String(error)}`))
        .finally(() => (this.running = undefined));
    }, RETENTION_INTERVAL_MS).unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /**
   * One run over every policy; resolves to the rows deleted per policy name, or undefined when another instance is
   * running retention.
   */
  async runOnce(): Promise<Record<string, number> | undefined> {
    const deleted: Record<string, number> = {};
    const ran = await this.sql.exclusively(RETENTION_LOCK_KEY, async () => {
      for (const policy of this.registry.all()) {
        deleted[policy.name] = await this.purge(policy);
      }
    });
    if (!ran) {
      return undefined;
    }
    const summary = Object.entries(deleted).filter(([, count]) => count > 0);
    if (summary.length > 0) {
      this.logger.log(`Retention deleted ${summary.map(([name, count]) => `${count} ${name}`).join(', ')}`);
    }
    return deleted;
  }

  private async purge(policy: RetentionPolicy): Promise<number> {
    const statement = `
      WITH deleted AS (
        DELETE FROM ${policy.table}
         WHERE ctid = ANY (ARRAY(SELECT ctid FROM ${policy.table} WHERE ${policy.where} LIMIT ${RETENTION_BATCH}))
        RETURNING 1
      )
      SELECT count(*)::int AS count FROM deleted`;
    let total = 0;
    for (let batch = 0; batch < MAX_BATCHES_PER_RUN; batch += 1) {
      const [{ count }] = await this.sql.rows<{ count: number }>(statement, policy.params ?? []);
      total += count;
      if (count < RETENTION_BATCH) {
        break;
      }
    }
    return total;
  }
}
