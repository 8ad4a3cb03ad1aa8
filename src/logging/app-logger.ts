import { LoggerService } from '@nestjs/common';
import type { Level, Logger } from 'pino';
import { requestLogContext } from 'src/logging/request-context';

/** A stack trace never reaches a log: a message is cut where its first `    at …` frame begins. */
function withoutStack(text: string): string {
  const frame = text.search(/\n\s+at /);
  return frame === -1 ? text : text.slice(0, frame);
}

/**
 * Nest's logger on pino: `new Logger(X.name).warn(…)` anywhere becomes one JSON line with `context: "X"` and, while
 * a request is being served, `req: {id, method, path}` of that request. Stack traces are never written (Nest passes
 * them as an extra argument, which is dropped; an Error is logged by name and message; frames in a message are cut).
 */
export class AppLogger implements LoggerService {
  constructor(readonly pino: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(level: Level, message: unknown, params: unknown[]): void {
    if (!this.pino.isLevelEnabled(level)) {
      return;
    }
    // Nest's Logger passes its context last: (message, context) or, for errors, (message, stack, context).
    const last = params[params.length - 1];
    const fields: Record<string, unknown> = {};
    const req = requestLogContext.getStore();
    if (req) {
      fields.req = req;
    }
    if (typeof last === 'string') {
      fields.context = last;
    }
    if (message instanceof Error) {
      fields.err = { type: message.name, message: withoutStack(message.message) };
      this.pino[level](fields, withoutStack(message.message));
    } else if (typeof message === 'object' && message !== null) {
      this.pino[level]({ ...fields, ...message });
    } else {
      this.pino[level](fields, withoutStack(String(message)));
    }
  }
}
