import { Injectable } from '@nestjs/common';

/**
 * One table's rule of what may go: rows of `table` matching `where` (SQL over the table's columns, with `$1`… bound
 * to `params`). `table` and `where` are the module's own constants, never input. An index on the column `where`
 * tests keeps each batch cheap.
 */
export interface RetentionPolicy {
  /** Named in log lines, e.g. `webhook messages`. */
  name: string;
  table: string;
  where: string;
  params?: unknown[];
}

/** Where modules register what may be deleted from their tables; RetentionService deletes it. */
@Injectable()
export class RetentionRegistry {
  private readonly policies: RetentionPolicy[] = [];

  register(policy: RetentionPolicy): void {
    if (!/^[a-z_][a-z0-9_]*$/.test(policy.table)) {
      throw new Error(`Retention: "${policy.table}" is not a plain table name`);
    }
    this.policies.push(policy);
  }

  all(): readonly RetentionPolicy[] {
    return this.policies;
  }
}
