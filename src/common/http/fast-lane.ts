import { createServer, IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { parse as parseQueryString, ParsedUrlQuery } from 'node:querystring';
import { Logger, SetMetadata } from '@nestjs/common';
import type { OpenAPIObject } from '@nestjs/swagger';
import { headersOf, toErrorBody } from 'src/common/errors/all-exceptions.filter';
import { readTextBody } from 'src/common/http/body-parsers';
import { clientIpOf } from 'src/common/http/client-ip';
import { contentTypeWithCharset } from 'src/common/http/content-type';
import { RequestHooks } from 'src/common/http/request-hooks';
import { describeRequest, RequestLogContext, requestLogContext } from 'src/logging/request-context';

export type PlainHandler = (request: IncomingMessage, response: ServerResponse) => void;
export type LaneOperation = NonNullable<OpenAPIObject['paths'][string]['post']>;

/** What a lane handler answers; errors are thrown instead and answered as the contract's JSON error body. */
export interface LaneAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/**
 * A lane route's work: the parsed query string, the body as UTF-8 text (undefined when its content type is not one
 * the route reads; it was drained), the headers, and when the request arrived (Date.now(), before the body was read).
 */
export type LaneHandler = (
  query: ParsedUrlQuery,
  body: string | undefined,
  headers: IncomingHttpHeaders,
  receivedAt: number,
) => Promise<LaneAnswer>;

/** How a lane route is described, beside its method and path. */
export interface LaneRouteOptions {
  /** Its entry in the OpenAPI document (the framework's scan does not see lane routes). */
  operation: LaneOperation;
  /** Whether a body of this Content-Type is read (up to BODY_LIMIT, else 413); any other is drained unread. */
  readsBody: (contentType: string | undefined) => boolean;
  /** The prefix of its request ids, which run `<prefix>-1`, `<prefix>-2`, … in base 36, as Fastify's `req-1a` do. */
  requestIdPrefix: string;
}

export interface LaneRoute extends LaneRouteOptions {
  method: string;
  path: string;
  handler: LaneHandler;
  /** Where an unexpected error of the route is logged (its 500). */
  logger: Logger;
}

interface ServedRoute extends LaneRoute {
  served: number;
}

/** The metadata key of `@FastLaneRoute()`. */
export const FAST_LANE_ROUTE = 'fast-lane:route';

/** The metadata `@FastLaneRoute()` leaves on a controller method. */
export interface FastLaneRouteMetadata extends LaneRouteOptions {
  method: string;
  /** Below the controller's path; empty for the controller's path itself. */
  path: string;
}

/**
 * Serves a controller method in the fast lane, at the controller's path (+ `path`): the method is a LaneHandler. It
 * stands beside the controller's framework routes (`@Get()`, …) and is found at start-up by FastLaneExplorer.
 */
export function FastLaneRoute(method: 'GET' | 'POST' | 'PUT' | 'DELETE', options: LaneRouteOptions, path = '') {
  return SetMetadata<string, FastLaneRouteMetadata>(FAST_LANE_ROUTE, { ...options, method, path });
}

const lanes = new WeakMap<Server, FastLane>();

/** The key of a request line: method and path, matched as the framework's router does (any case, `/` at the end). */
function keyOf(method: string, url: string): string {
  const end = url.search(/[?#]/);
  let path = (end < 0 ? url : url.slice(0, end)).toLowerCase();
  if (path.length > 1 && path.endsWith('/')) {
    path = path.slice(0, -1);
  }
  return `${method} ${path}`;
}

/** Reads a body the route does not take to its end (keeping the connection usable) without keeping it. */
function drain(request: IncomingMessage): Promise<undefined> {
  return new Promise((resolve) => {
    request.on('end', () => resolve(undefined));
    request.on('error', () => resolve(undefined));
    request.resume();
  });
}

function send(
  response: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers?: Record<string, string>,
): void {
  response.writeHead(status, {
    ...headers,
    'content-type': contentTypeWithCharset(contentType),
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

/**
 * Routes answered by a plain node:http handler before the framework sees the request: for a path whose callers need
 * close to a bare server's rate (WeChat's webhook), where the framework's per-request work (router, middleware,
 * guards, pipes, hooks) would cost more than the handler itself. The lane does everything HTTP about its routes, once
 * for all of them: the query string, the body with the shared limits, errors in the contract's JSON shape, request
 * ids, the log context and the request hooks (the access line among them). Every other request goes to the
 * framework unchanged.
 */
export class FastLane {
  private readonly routes = new Map<string, ServedRoute>();
  private hooks = new RequestHooks();

  /** The lane of a server made by `createServer`, if any. */
  static of(server: unknown): FastLane | undefined {
    return server instanceof Server ? lanes.get(server) : undefined;
  }

  /** The HTTP server: lane routes first, then `framework`. */
  createServer(framework: PlainHandler, settings: { keepAliveTimeout: number; requestTimeout: number }): Server {
    const server = createServer((request, response) => {
      // On every answer, the lane's and the framework's (writeHead adds headers set before it): no browser is to
      // guess a type other than the one sent (a JSON error read as HTML, an avatar URL as script).
      response.setHeader('x-content-type-options', 'nosniff');
      const route = request.url ? this.routes.get(keyOf(request.method ?? '', request.url)) : undefined;
      if (route) {
        this.serve(route, request, response);
      } else {
        framework(request, response);
      }
    });
    server.keepAliveTimeout = settings.keepAliveTimeout;
    server.requestTimeout = settings.requestTimeout;
    lanes.set(server, this);
    return server;
  }

  /** The request hooks every lane route runs (the app's, set while it initialises). */
  useHooks(hooks: RequestHooks): void {
    this.hooks = hooks;
  }

  /** Serves `route.method route.path` with `route.handler`. */
  route(route: LaneRoute): void {
    const key = keyOf(route.method, route.path);
    if (this.routes.has(key)) {
      throw new Error(`The fast lane already serves ${route.method} ${route.path}`);
    }
    this.routes.set(key, { ...route, served: 0 });
  }

  /** Adds the lane's routes to an OpenAPI document (the framework's scan does not see them). */
  describe(document: OpenAPIObject): void {
    for (const route of this.routes.values()) {
      document.paths[route.path] = { ...document.paths[route.path], [route.method.toLowerCase()]: route.operation };
    }
  }

  /** Lines written while the request is handled carry its `req`, as on every other route; then the hooks' turn. */
  private serve(route: ServedRoute, request: IncomingMessage, response: ServerResponse): void {
    route.served += 1;
    const req = describeRequest(
      `${route.requestIdPrefix}-${route.served.toString(36)}`,
      route.method,
      request.url ?? '',
    );
    const receivedAt = Date.now();
    void requestLogContext.run(req, () =>
      this.answer(route, req, request, response, receivedAt).then(
        (status) => this.hooks.response(req, route.path, status, Date.now() - receivedAt),
        (error: unknown) => route.logger.error(`Answering a request failed: ${String(error)}`),
      ),
    );
  }

  /** Answers the request; resolves to the status sent (never rejects). */
  private async answer(
    route: ServedRoute,
    req: RequestLogContext,
    request: IncomingMessage,
    response: ServerResponse,
    receivedAt: number,
  ): Promise<number> {
    try {
      try {
        this.hooks.request(req, route.path, () => clientIpOf(request));
      } catch (refusal) {
        await drain(request);
        throw refusal;
      }
      const url = request.url ?? '';
      const mark = url.indexOf('?');
      const query = mark < 0 ? {} : parseQueryString(url.slice(mark + 1));
      const body = route.readsBody(request.headers['content-type'])
        ? await readTextBody(request.headers, request)
        : await drain(request);
      const answer = await route.handler(query, body, request.headers, receivedAt);
      send(response, answer.status, answer.contentType, answer.body);
      return answer.status;
    } catch (error) {
      const body = toErrorBody(error, route.logger);
      send(response, body.statusCode, 'application/json', JSON.stringify(body), headersOf(error));
      return body.statusCode;
    }
  }
}
