import { Injectable, Logger } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { headersOf, toErrorBody } from 'src/common/errors/all-exceptions.filter';
import { describeRequest, RequestLogContext, requestLogContext } from 'src/logging/request-context';

/** The client's address (trusted proxies' X-Forwarded-For honoured, see client-ip.ts), worked out when asked for. */
export type ClientIp = () => string;
type OnRequest = (request: RequestLogContext, route: string | undefined, clientIp: ClientIp) => void;
type OnResponse = (request: RequestLogContext, route: string | undefined, statusCode: number, ms: number) => void;

/**
 * Something done around every request, however it is served — a fast-lane route or a framework route: the access
 * line, and later metrics and rate limits. `request` is the request's `{id, method, path}` (the path without its
 * query); `route` is the pattern that matched (`/admin/auto-replies/:id`, `/wechat/webhook`), undefined when none did.
 */
export interface RequestHook {
  /**
   * Before the route runs and before its body is read. Throwing refuses the request: it is answered with the
   * contract's JSON error for what was thrown (an AppException(429, 'too_many_requests', …) for a rate limit), and the
   * route does not run; the headers of a thrown AppException (`Retry-After`) go with the answer. Runs inside the
   * request's log context. `clientIp` gives the client's address, the same on the fast lane and the framework.
   */
  onRequest?: OnRequest;
  /** Once the answer is sent: its status and the whole milliseconds since the request arrived. Must not throw. */
  onResponse?: OnResponse;
}

/** The request of a framework route, described as the lane describes its own (id, method, path without query). */
export function describeFastifyRequest(request: FastifyRequest): RequestLogContext {
  return describeRequest(request.id, request.method, request.raw.url ?? '');
}

/**
 * The one place for work around every request. A module adds its hook while the app initialises (in a constructor
 * or `onModuleInit`, with RequestHooks injected); the fast lane calls the hooks for its routes, and
 * `attachRequestHooks` has Fastify call them for every other route. Hooks are plain function calls in a loop: no
 * allocation per request, and no Fastify hook at all for a kind nobody registered.
 */
@Injectable()
export class RequestHooks {
  private readonly requestHooks: OnRequest[] = [];
  private readonly responseHooks: OnResponse[] = [];
  private sealed = false;

  add(hook: RequestHook): void {
    if (this.sealed) {
      throw new Error('Request hooks are added while the app initialises (a constructor or onModuleInit), not later');
    }
    if (hook.onRequest) {
      this.requestHooks.push(hook.onRequest.bind(hook));
    }
    if (hook.onResponse) {
      this.responseHooks.push(hook.onResponse.bind(hook));
    }
  }

  get hasRequestHooks(): boolean {
    return this.requestHooks.length > 0;
  }

  get hasResponseHooks(): boolean {
    return this.responseHooks.length > 0;
  }

  /** Runs every onRequest hook in the order they were added; a hook's throw (a refusal) stops here and is rethrown. */
  request(request: RequestLogContext, route: string | undefined, clientIp: ClientIp): void {
    for (let i = 0; i < this.requestHooks.length; i += 1) {
      this.requestHooks[i](request, route, clientIp);
    }
  }

  /** Runs every onResponse hook in the order they were added. */
  response(request: RequestLogContext, route: string | undefined, statusCode: number, ms: number): void {
    for (let i = 0; i < this.responseHooks.length; i += 1) {
      this.responseHooks[i](request, route, statusCode, ms);
    }
  }

  /** No more hooks: the server is being set up with the ones there are. */
  seal(): void {
    this.sealed = true;
  }
}

/**
 * Has Fastify call `hooks` for the framework's routes: onRequest (a refusal is answered here with the contract's
 * JSON error) and onResponse. Called once every module has initialised, so that it knows which hooks exist; seals them.
 */
export function attachRequestHooks(fastify: FastifyInstance, hooks: RequestHooks): void {
  hooks.seal();
  const logger = new Logger(RequestHooks.name);
  if (hooks.hasRequestHooks) {
    fastify.addHook('onRequest', (request, reply, done) => {
      // The request logging's own onRequest hook, installed first, has already described the request.
      const current = requestLogContext.getStore();
      try {
        hooks.request(
          current?.id === request.id ? current : describeFastifyRequest(request),
          request.routeOptions.url,
          () => request.ip,
        );
      } catch (error) {
        const body = toErrorBody(error, logger);
        void reply
          .code(body.statusCode)
          .headers(headersOf(error) ?? {})
          .send(body);
        return;
      }
      done();
    });
  }
  if (hooks.hasResponseHooks) {
    fastify.addHook('onResponse', (request, reply, done) => {
      hooks.response(
        describeFastifyRequest(request),
        request.routeOptions.url,
        reply.statusCode,
        Math.round(reply.elapsedTime),
      );
      done();
    });
  }
}
