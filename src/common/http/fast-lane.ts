import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { OpenAPIObject } from '@nestjs/swagger';

export type PlainHandler = (request: IncomingMessage, response: ServerResponse) => void;
type Operation = NonNullable<OpenAPIObject['paths'][string]['post']>;

interface LaneRoute {
  method: string;
  path: string;
  handler: PlainHandler;
  operation: Operation;
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

/**
 * Routes answered by a plain node:http handler before the framework sees the request: for a path whose callers need
 * close to a bare server's rate (WeChat's webhook), where the framework's per-request work (router, middleware,
 * guards, pipes, hooks) would cost more than the handler itself. A lane handler owns the whole exchange: body limits,
 * errors in the contract's JSON shape, its log line. Every other request goes to the framework unchanged.
 */
export class FastLane {
  private readonly routes = new Map<string, LaneRoute>();

  /** The lane of a server made by `createServer`, if any. */
  static of(server: unknown): FastLane | undefined {
    return server instanceof Server ? lanes.get(server) : undefined;
  }

  /** The HTTP server: lane routes first, then `framework`. */
  createServer(framework: PlainHandler, settings: { keepAliveTimeout: number; requestTimeout: number }): Server {
    const server = createServer((request, response) => {
      const route = request.url ? this.routes.get(keyOf(request.method ?? '', request.url)) : undefined;
      (route ? route.handler : framework)(request, response);
    });
    server.keepAliveTimeout = settings.keepAliveTimeout;
    server.requestTimeout = settings.requestTimeout;
    lanes.set(server, this);
    return server;
  }

  /** Serves `method path` with `handler`; `operation` describes it in the OpenAPI document. */
  route(method: string, path: string, handler: PlainHandler, operation: Operation): void {
    const key = keyOf(method, path);
    if (this.routes.has(key)) {
      throw new Error(`The fast lane already serves ${method} ${path}`);
    }
    this.routes.set(key, { method, path, handler, operation });
  }

  /** Adds the lane's routes to an OpenAPI document (the framework's scan does not see them). */
  describe(document: OpenAPIObject): void {
    for (const route of this.routes.values()) {
      document.paths[route.path] = { ...document.paths[route.path], [route.method.toLowerCase()]: route.operation };
    }
  }
}
