import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { RequestLogContext, requestLogContext } from 'src/logging/request-context';

/** Health checks come every few seconds from load balancers: not worth a line each. */
const UNLOGGED_PATHS = new Set(['/health']);

/** A request's id, method and path; the path never carries the query string (OAuth codes, signatures). */
export function describeRequest(id: string, method: string, url: string): RequestLogContext {
  const query = url.indexOf('?');
  return { id, method, path: query === -1 ? url : url.slice(0, query) };
}

function describe(request: FastifyRequest): RequestLogContext {
  return describeRequest(request.id, request.method, request.raw.url ?? '');
}

/** The access-log line of one answered request (the routes of the fast lane write theirs with it too). */
export function logAccess(logger: Logger, req: RequestLogContext, statusCode: number, responseTime: number): void {
  if (!UNLOGGED_PATHS.has(req.path)) {
    logger.info(
      { req, res: { statusCode }, responseTime },
      `${req.method} ${req.path} ${statusCode} ${responseTime}ms`,
    );
  }
}

/**
 * Request logging, as Fastify hooks (no middleware, no logger per request):
 * - every line written while a request is served carries `req: {id, method, path}` (see AppLogger);
 * - one access-log line per request at `info`, written when the response has been sent —
 *   `{"req":{…},"res":{"statusCode"},"responseTime","msg":"GET /path 200 3ms"}` — or when the client went away
 *   first (`"aborted":true`). `/health` is not logged. No header is read, so neither tokens, cookies nor the admin
 *   key can reach a log. With LOG_LEVEL above `info` the access-log hooks are not installed at all.
 */
export function registerRequestLogging(fastify: FastifyInstance, logger: Logger): void {
  if (logger.level === 'silent') {
    return;
  }
  fastify.addHook('onRequest', (request, _reply, done) => {
    requestLogContext.run(describe(request), done);
  });
  if (!logger.isLevelEnabled('info')) {
    return;
  }
  fastify.addHook('onResponse', (request, reply, done) => {
    logAccess(logger, describe(request), reply.statusCode, Math.round(reply.elapsedTime));
    done();
  });
  fastify.addHook('onRequestAbort', (request, done) => {
    const req = describe(request);
    if (!UNLOGGED_PATHS.has(req.path)) {
      logger.info({ req, aborted: true }, `${req.method} ${req.path} aborted by the client`);
    }
    done();
  });
}
