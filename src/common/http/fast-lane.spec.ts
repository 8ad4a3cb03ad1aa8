import type { AddressInfo } from 'node:net';
import { Logger } from '@nestjs/common';
import type { OpenAPIObject } from '@nestjs/swagger';
import pino from 'pino';
import { AppException } from 'src/common/errors/app-exception';
import { BODY_LIMIT, isXmlContentType } from 'src/common/http/body-parsers';
import { FastLane, LaneHandler, LaneRoute, PlainHandler } from 'src/common/http/fast-lane';
import { RequestHooks } from 'src/common/http/request-hooks';
import { requestLogContext } from 'src/logging/request-context';
import { accessLogHook } from 'src/logging/request-logging';

describe('FastLane', () => {
  const operation = { summary: 'hot', responses: { '200': { description: 'ok' } } };
  const framework: PlainHandler = (_request, response) => response.end('framework');
  const answer =
    (text: string): LaneHandler =>
    () =>
      Promise.resolve({ status: 200, contentType: 'text/plain', body: text });

  function route(method: string, path: string, handler: LaneHandler): LaneRoute {
    const logger = new Logger('LaneSpec');
    jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    return { method, path, handler, operation, readsBody: isXmlContentType, requestIdPrefix: 'wh', logger };
  }

  async function serve(lane: FastLane): Promise<{ url: string; close: () => Promise<void> }> {
    const server = lane.createServer(framework, { keepAliveTimeout: 5_000, requestTimeout: 10_000 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}`,
      close: () => new Promise((resolve) => server.close(() => resolve())),
    };
  }

  /** A lane serving `handler` at POST /hot, with `hooks`, for the length of `test`. */
  async function withLane(
    handler: LaneHandler,
    test: (post: (path: string, init?: RequestInit) => Promise<Response>) => Promise<void>,
    hooks = new RequestHooks(),
  ): Promise<void> {
    const lane = new FastLane();
    lane.useHooks(hooks);
    lane.route(route('POST', '/hot', handler));
    const { url, close } = await serve(lane);
    try {
      await test((path, init) => fetch(`${url}${path}`, { method: 'POST', ...init }));
    } finally {
      await close();
    }
  }

  const xml = (body: string): RequestInit => ({ body, headers: { 'content-type': 'text/xml' } });

  it('should answer its routes itself, in any case and with a trailing slash, and hands everything else on', async () => {
    const lane = new FastLane();
    lane.route(route('POST', '/hot/path', answer('lane')));
    const { url, close } = await serve(lane);
    try {
      const text = async (path: string, method = 'POST') => (await fetch(`${url}${path}`, { method })).text();
      expect(await text('/hot/path?x=1')).toBe('lane');
      expect(await text('/HOT/Path/')).toBe('lane');
      expect(await text('/hot/path', 'GET')).toBe('framework');
      expect(await text('/hot/path/more')).toBe('framework');
      expect(await text('/hot')).toBe('framework');
    } finally {
      await close();
    }
  });

  it('should refuse a second handler for the same route', () => {
    const lane = new FastLane();
    lane.route(route('POST', '/hot', answer('a')));
    expect(() => lane.route(route('POST', '/HOT/', answer('b')))).toThrow('already serves');
  });

  it('should serve a route ending in a parameter with the segment decoded and its case kept', async () => {
    const lane = new FastLane();
    const seen: unknown[] = [];
    lane.route(route('POST', '/hot', answer('plain')));
    lane.route(
      route('POST', '/hot/:appid', (_query, _body, _headers, _receivedAt, params) => {
        seen.push(params);
        return Promise.resolve({ status: 200, contentType: 'text/plain', body: `for ${params.appid}` });
      }),
    );
    const { url, close } = await serve(lane);
    try {
      const post = (path: string) => fetch(`${url}${path}`, { method: 'POST' }).then((res) => res.text());
      expect(await post('/hot')).toBe('plain');
      expect(await post('/HOT/wxAbC123?x=1')).toBe('for wxAbC123');
      expect(await post('/hot/wx%41b/')).toBe('for wxAb');
      // Not one segment, or not decodable: the framework's (its 404s).
      expect(await post('/hot/a/b')).toBe('framework');
      expect(await post('/hot/%E0%A4%A')).toBe('framework');
      expect(await fetch(`${url}/hot/wx1`).then((res) => res.text())).toBe('framework');
      expect(seen).toEqual([{ appid: 'wxAbC123' }, { appid: 'wxAb' }]);
    } finally {
      await close();
    }
  });

  it('should give the routes of one id prefix one counter, so request ids never repeat', async () => {
    const ids: string[] = [];
    const hooks = new RequestHooks();
    hooks.add({ onResponse: (req) => void ids.push(req.id) });
    const lane = new FastLane();
    lane.useHooks(hooks);
    lane.route(route('POST', '/hot', answer('a')));
    lane.route(route('POST', '/hot/:id', answer('b')));
    const { url, close } = await serve(lane);
    try {
      for (const path of ['/hot', '/hot/x', '/hot']) {
        await fetch(`${url}${path}`, { method: 'POST' }).then((res) => res.text());
      }
      await new Promise((resolve) => setImmediate(resolve));
      expect(ids).toEqual(['wh-1', 'wh-2', 'wh-3']);
    } finally {
      await close();
    }
  });

  it('should take one parameter, as the last segment, and describe it as an OpenAPI path parameter', () => {
    const lane = new FastLane();
    expect(() => lane.route(route('POST', '/hot/:id/more', answer('a')))).toThrow('one parameter');
    lane.route(route('POST', '/hot/:appid', answer('a')));
    expect(() => lane.route(route('POST', '/HOT/:other', answer('b')))).toThrow('already serves');
    const document: OpenAPIObject = { openapi: '3.0.0', info: { title: 't', version: '1' }, paths: {} };
    lane.describe(document);
    expect(document.paths['/hot/{appid}']).toEqual({
      post: {
        ...operation,
        parameters: [{ name: 'appid', in: 'path', required: true, schema: { type: 'string' } }],
      },
    });
  });

  it('should add its routes to an OpenAPI document beside what the framework described', () => {
    const lane = new FastLane();
    lane.route(route('POST', '/hot', answer('a')));
    const document = { openapi: '3.0.0', info: { title: 't', version: '1' }, paths: { '/hot': { get: operation } } };
    lane.describe(document);
    expect(document.paths['/hot']).toEqual({ get: operation, post: operation });
  });

  it('should be found from the server it made, and only from that', () => {
    const lane = new FastLane();
    const server = lane.createServer(framework, { keepAliveTimeout: 1, requestTimeout: 1 });
    expect(FastLane.of(server)).toBe(lane);
    expect(FastLane.of({})).toBeUndefined();
  });

  it('should hand the handler the parsed query string, the body as text and the headers', async () => {
    const seen: unknown[] = [];
    const handler: LaneHandler = (query, body, headers, receivedAt) => {
      seen.push({ ...query }, body, headers['x-probe'], receivedAt);
      return Promise.resolve({ status: 201, contentType: 'application/xml', body: '<xml/>' });
    };
    await withLane(handler, async (post) => {
      const before = Date.now();
      const res = await post('/hot?a=1&b=x&b=y&c=%E5%BE%AE', {
        body: '<xml>微信</xml>',
        headers: { 'content-type': 'application/xml; charset=utf-8', 'x-probe': 'p' },
      });
      expect(res.status).toBe(201);
      expect(res.headers.get('content-type')).toBe('application/xml');
      expect(await res.text()).toBe('<xml/>');
      expect(seen.slice(0, 3)).toEqual([{ a: '1', b: ['x', 'y'], c: '微' }, '<xml>微信</xml>', 'p']);
      expect(seen[3]).toBeGreaterThanOrEqual(before);
    });
  });

  it('should hand on a body of a type the route does not read as undefined, unread', async () => {
    const bodies: unknown[] = [];
    const handler: LaneHandler = (_query, body) => {
      bodies.push(body);
      return Promise.reject(new AppException(415, 'unsupported_media_type', 'XML only.'));
    };
    await withLane(handler, async (post) => {
      const res = await post('/hot', { body: '{"a":1}', headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(415);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(await res.json()).toEqual({ statusCode: 415, error: 'unsupported_media_type', message: 'XML only.' });
      const empty = await post('/hot');
      expect(empty.status).toBe(415);
      expect(bodies).toEqual([undefined, undefined]);
    });
  });

  it('should refuse a body over the shared limit with 413 before the handler runs', async () => {
    const handler = jest.fn(answer('read'));
    await withLane(handler, async (post) => {
      const res = await post('/hot', xml('x'.repeat(BODY_LIMIT + 1)));
      expect(res.status).toBe(413);
      expect(await res.json()).toEqual({
        statusCode: 413,
        error: 'payload_too_large',
        message: 'The request body is too large.',
      });
      expect(handler).not.toHaveBeenCalled();
      expect(await (await post('/hot', xml('x'.repeat(BODY_LIMIT)))).text()).toBe('read');
    });
  });

  it('should answer what the handler throws as the contract JSON error, an unknown error as a generic 500', async () => {
    let failure: unknown;
    const handler: LaneHandler = () => {
      throw failure;
    };
    await withLane(handler, async (post) => {
      failure = new AppException(401, 'invalid_signature', 'No.');
      const refused = await post('/hot', xml('<xml/>'));
      expect([refused.status, await refused.json()]).toEqual([
        401,
        { statusCode: 401, error: 'invalid_signature', message: 'No.' },
      ]);
      failure = new Error('a bug with a secret');
      const broken = await post('/hot', xml('<xml/>'));
      expect(broken.status).toBe(500);
      expect(await broken.text()).toBe(
        JSON.stringify({ statusCode: 500, error: 'internal_error', message: 'Internal server error.' }),
      );
    });
  });

  it('should number requests wh-1, wh-2 … in base 36, serve each in its log context, and write its access line', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as never) });
    const hooks = new RequestHooks();
    hooks.add(accessLogHook(logger));
    const contexts: unknown[] = [];
    const handler: LaneHandler = async () => {
      await new Promise((resolve) => setImmediate(resolve));
      contexts.push(requestLogContext.getStore());
      return { status: 200, contentType: 'text/plain', body: 'success' };
    };
    await withLane(
      handler,
      async (post) => {
        for (let i = 0; i < 10; i += 1) {
          await (await post('/hot?signature=secret', xml('<xml/>'))).text();
        }
      },
      hooks,
    );
    const ids = ['wh-1', 'wh-2', 'wh-3', 'wh-4', 'wh-5', 'wh-6', 'wh-7', 'wh-8', 'wh-9', 'wh-a'];
    expect(contexts).toEqual(ids.map((id) => ({ id, method: 'POST', path: '/hot' })));
    expect(lines).toHaveLength(10);
    expect(lines[0]).toEqual({
      level: 30,
      time: expect.any(Number),
      pid: expect.any(Number),
      hostname: expect.any(String),
      req: { id: 'wh-1', method: 'POST', path: '/hot' },
      res: { statusCode: 200 },
      responseTime: expect.any(Number),
      msg: expect.stringMatching(/^POST \/hot 200 \d+ms$/),
    });
    expect(lines[9].req).toEqual({ id: 'wh-a', method: 'POST', path: '/hot' });
    expect(JSON.stringify(lines)).not.toContain('secret');
  });

  it('should run the request hooks around each request, and answer a refusal without running the route', async () => {
    const seen: unknown[] = [];
    let refuse = false;
    const hooks = new RequestHooks();
    hooks.add({
      onRequest: (req, route) => {
        seen.push(['request', req.id, route, requestLogContext.getStore() === req]);
        if (refuse) {
          throw new AppException(429, 'too_many_requests', 'Slow down.');
        }
      },
      onResponse: (req, route, status, ms) => seen.push(['response', req.id, route, status, typeof ms]),
    });
    const handler = jest.fn(answer('served'));
    await withLane(
      handler,
      async (post) => {
        expect(await (await post('/hot', xml('<xml/>'))).text()).toBe('served');
        refuse = true;
        const refused = await post('/hot', xml('<xml>unread</xml>'));
        expect([refused.status, await refused.json()]).toEqual([
          429,
          { statusCode: 429, error: 'too_many_requests', message: 'Slow down.' },
        ]);
      },
      hooks,
    );
    expect(handler).toHaveBeenCalledTimes(1);
    expect(seen).toEqual([
      ['request', 'wh-1', '/hot', true],
      ['response', 'wh-1', '/hot', 200, 'number'],
      ['request', 'wh-2', '/hot', true],
      ['response', 'wh-2', '/hot', 429, 'number'],
    ]);
  });
});
