import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { describeFastifyRequest, RequestHook, RequestHooks } from 'src/common/http/request-hooks';
import { RequestLogContext, requestLogContext } from 'src/logging/request-context';

/** Health checks come every few seconds from load balancers: not worth a line each. */
const UNLOGGED_PATHS = new Set(['/health']);

/** The access-log line of one answered request. */
function logAccess(logger: Logger, req: RequestLogContext, statusCode: number, responseTime: number): void {
  if (!UNLOGGED_PATHS.has(req.path)) {
    logger.info(
      { req, res: { statusCode }, responseTime },
      `${req.method} ${req.path} ${statusCode} ${responseTime}ms`,
    );
  }
}

/** The access line as a request hook: the fast lane's routes and the framework's write it the same way. */
export function accessLogHook(logger: Logger): RequestHook {
  return { onResponse: (req, _route, statusCode, responseTime) => logAccess(logger, req, statusCode, responseTime) };
}

/**
 * Request logging (no middleware, no logger per request):
 * - every line written while a request is served carries `req: {id, method, path}` (see AppLogger), through a
 *   Fastify onRequest hook (the fast lane sets the same context for its routes);
 * - one access-log line per request at `info`, written through `hooks` when the response has been sent —
 *   `{"req":{…},"res":{"statusCode"},"responseTime","msg":"GET /path 200 3ms"}` — or, on framework routes, when the
 *   client went away first (`"aborted":true`). `/health` is not logged. No header is read, so neither tokens, cookies
 *   nor the admin key can reach a log. With LOG_LEVEL above `info` no access-log hook is installed at all.
 */
export function registerRequestLogging(fastify: FastifyInstance, logger: Logger, hooks: RequestHooks): void {
  if (logger.level === 'silent') {
    return;
  }
  fastify.addHook('onRequest', (request, _reply, done) => {
    requestLogContext.run(describeFastifyRequest(request), done);
  });
  if (!logger.isLevelEnabled('info')) {
    return;
  }
  hooks.add(accessLogHook(logger));
  fastify.addHook('onRequestAbort', (request, done) => {
    const req = describeFastifyRequest(request);
    if (!UNLOGGED_PATHS.has(req.path)) {
      logger.info({ req, aborted: true }, `${req.method} ${req.path} aborted by the client`);
    }
    done();
  });
}
