import { Logger } from '@nestjs/common';
import type { QueryRunner, Logger as TypeOrmLoggerInterface } from 'typeorm';

/**
 * Whether the data source's `logging` option lets `level` through, as it does for TypeORM's own loggers: a logger
 * instance is not handed the option, but a statement's query runner knows its data source. Without one (the pool's
 * errors), the line is written.
 */
function enabled(level: 'error' | 'warn', queryRunner: QueryRunner | undefined): boolean {
  const logging = queryRunner?.connection.options.logging ?? true;
  return logging === true || logging === 'all' || (Array.isArray(logging) && logging.includes(level));
}

/**
 * TypeORM's lines through Nest's Logger, so that the app's logger writes them (as JSON, with the request's context)
 * rather than TypeORM printing them to the console: the pool's errors (a dropped connection) and failed statements.
 * A failed statement is logged without its parameters, which may hold sealed secrets or hashes.
 */
export class TypeOrmLogger implements TypeOrmLoggerInterface {
  private readonly logger = new Logger('Database');

  logQuery(): void {
    // Every statement: far too many lines; PostgreSQL's own log has them when needed.
  }

  logQueryError(error: string | Error, query: string, _parameters?: unknown[], queryRunner?: QueryRunner): void {
    if (!enabled('error', queryRunner)) {
      return;
    }
    const reason = typeof error === 'string' ? error : error.message;
    this.logger.warn(`Statement failed: ${reason} (${query.replace(/\s+/g, ' ').slice(0, 200)})`);
  }

  logQuerySlow(time: number, query: string): void {
    this.logger.warn(`Slow statement (${time} ms): ${query.replace(/\s+/g, ' ').slice(0, 200)}`);
  }

  logSchemaBuild(): void {
    // The schema builder's steps: migrations are what change the schema, and DatabaseModule reports those it ran.
  }

  logMigration(): void {
    // Each step of each migration run; DatabaseModule logs one line naming the migrations it ran.
  }

  log(level: 'log' | 'info' | 'warn', message: unknown, queryRunner?: QueryRunner): void {
    // Only warnings (the pool's errors among them); TypeORM's info lines are start-up chatter (entity globs).
    if (level === 'warn' && enabled('warn', queryRunner)) {
      this.logger.warn(String(message));
    }
  }
}
