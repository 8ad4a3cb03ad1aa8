import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import pino from 'pino';
import type { AppConfig } from 'src/config/configuration';

/**
 * Structured JSON logs (pino). Request lines carry the path without its query string (OAuth codes, signatures)
 * and no headers, so neither tokens, cookies nor the admin key can reach a log.
 */
export function buildLoggerOptions(app: AppConfig): Params {
  return {
    pinoHttp: [
      {
        level: app.logLevel,
        // originalUrl: the middleware runner (middie under Fastify) may rewrite req.url relative to its mount path.
        autoLogging: {
          ignore: (req: IncomingMessage & { originalUrl?: string }) => (req.originalUrl ?? req.url) === '/health',
        },
        serializers: {
          req: (req: IncomingMessage & { id?: unknown }) => ({
            id: req.id,
            method: req.method,
            path: (req.url ?? '').split('?')[0],
          }),
          res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
        },
        redact: { paths: ['req.headers', 'res.headers'], remove: true },
        customSuccessMessage: (req: IncomingMessage, res: ServerResponse, responseTime: number) =>
          `${req.method} ${(req.url ?? '').split('?')[0]} ${res.statusCode} ${responseTime}ms`,
      },
      logDestination,
    ],
  };
}

/**
 * Logs go to stdout asynchronously: a slow reader of the pipe (a log shipper) must not stall request handling.
 * `flushLogs()` writes out what is pending before the process exits.
 */
const logDestination = pino.destination({ dest: 1, sync: false });

export function flushLogs(): void {
  try {
    logDestination.flushSync();
  } catch {
    // Nothing was written yet (the stream is not open): nothing to flush.
  }
}
