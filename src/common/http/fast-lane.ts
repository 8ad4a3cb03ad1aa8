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
 * the route reads; it was drained), the headers, when the request arrived (Date.now(), before the body was read),
 * and the path parameter of a route ending in `/:name` (percent-decoded, its case kept).
 */
export type LaneHandler = (
  query: ParsedUrlQuery,
  body: string | undefined,
  headers: IncomingHttpHeaders,
  receivedAt: number,
  params: Readonly<Record<string, string>>,
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
  /** Requests served under the route's id prefix: shared by the routes of one prefix, so ids never repeat. */
  served: { count: number };
  /** The name of the trailing `/:name` segment, for a route with one. */
  param?: string;
}

const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});
/** A route path ending in one parameter segment, e.g. `/wechat/webhook/:appid`. */
const TRAILING_PARAM = /^(.*)\/:([A-Za-z_][A-Za-z0-9_]*)$/;

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

/** The path of a request URL without its query and a trailing `/`, its case kept. */
function pathOf(url: string): string {
  const end = url.search(/[?#]/);
  const path = end < 0 ? url : url.slice(0, end);
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

/** The key of a request line: method and path, matched as the framework's router does (any case, `/` at the end). */
function keyOf(method: string, path: string): string {
  return `${method} ${path.toLowerCase()}`;
}

/** A percent-decoded path segment; undefined when it does not decode or is empty. */
function decodeSegment(segment: string): string | undefined {
  try {
    return segment ? decodeURIComponent(segment) : undefined;
  } catch {
    return undefined;
  }
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
  /** Routes ending in `/:name`, keyed by method and the path before it. */
  private readonly paramRoutes = new Map<string, ServedRoute>();
  private readonly counters = new Map<string, { count: number }>();
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
      if (!request.url) {
        framework(request, response);
        return;
      }
      const path = pathOf(request.url);
      const method = request.method ?? '';
      const route = this.routes.get(keyOf(method, path));
      if (route) {
        this.serve(route, request, response, NO_PARAMS);
        return;
      }
      if (this.paramRoutes.size > 0) {
        const slash = path.lastIndexOf('/');
        const parent = slash > 0 ? this.paramRoutes.get(keyOf(method, path.slice(0, slash))) : undefined;
        const value = parent && decodeSegment(path.slice(slash + 1));
        if (parent && value !== undefined) {
          this.serve(parent, request, response, { [parent.param!]: value });
          return;
        }
      }
      framework(request, response);
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

  /** Serves `route.method route.path` with `route.handler`; a path may end in one parameter, `/:name`. */
  route(route: LaneRoute): void {
    const path = pathOf(route.path);
    const param = TRAILING_PARAM.exec(path);
    if (path.includes('/:') && !param) {
      throw new Error(`The fast lane takes one parameter, as the last segment: ${route.path}`);
    }
    const [routes, key] = param
      ? [this.paramRoutes, keyOf(route.method, param[1])]
      : [this.routes, keyOf(route.method, path)];
    if (routes.has(key)) {
      throw new Error(`The fast lane already serves ${route.method} ${route.path}`);
    }
    let served = this.counters.get(route.requestIdPrefix);
    if (!served) {
      served = { count: 0 };
      this.counters.set(route.requestIdPrefix, served);
    }
    routes.set(key, { ...route, served, param: param?.[2] });
  }

  /** Adds the lane's routes to an OpenAPI document (the framework's scan does not see them). */
  describe(document: OpenAPIObject): void {
    for (const route of [...this.routes.values(), ...this.paramRoutes.values()]) {
      const path = route.param ? route.path.replace(`:${route.param}`, `{${route.param}}`) : route.path;
      const operation = route.param
        ? {
            ...route.operation,
            parameters: [
              { name: route.param, in: 'path' as const, required: true, schema: { type: 'string' as const } },
              ...(route.operation.parameters ?? []),
            ],
          }
        : route.operation;
      document.paths[path] = { ...document.paths[path], [route.method.toLowerCase()]: operation };
    }
  }

  /** Lines written while the request is handled carry its `req`, as on every other route; then the hooks' turn. */
  private serve(
    route: ServedRoute,
    request: IncomingMessage,
    response: ServerResponse,
    params: Readonly<Record<string, string>>,
  ): void {
    route.served.count += 1;
    const req = describeRequest(
      `${route.requestIdPrefix}-${route.served.count.toString(36)}`,
      route.method,
      request.url ?? '',
    );
    const receivedAt = Date.now();
    void requestLogContext.run(req, () =>
      this.answer(route, req, request, response, receivedAt, params).then(
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
    params: Readonly<Record<string, string>>,
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
      const answer = await route.handler(query, body, request.headers, receivedAt, params);
      send(response, answer.status, answer.contentType, answer.body);
      return answer.status;
    } catch (error) {
      const body = toErrorBody(error, route.logger);
      send(response, body.statusCode, 'application/json', JSON.stringify(body), headersOf(error));
      return body.statusCode;
    }
  }
}
