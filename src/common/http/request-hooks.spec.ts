import type { AddressInfo } from 'node:net';
import { Logger } from '@nestjs/common';
import { createHttpAdapter } from 'src/app.setup';
import { AppException } from 'src/common/errors/app-exception';
import { isXmlContentType } from 'src/common/http/body-parsers';
import { FastLane } from 'src/common/http/fast-lane';
import { attachRequestHooks, RequestHooks } from 'src/common/http/request-hooks';

describe(RequestHooks.name, () => {
  /** The service's HTTP platform (Fastify over the fast lane) with one framework route and one lane route. */
  async function serve(sut: RequestHooks) {
    const adapter = createHttpAdapter();
    const fastify = adapter.getInstance();
    fastify.get('/items/:id', () => ({ id: 'i1' }));
    const lane = FastLane.of(fastify.server)!;
    lane.useHooks(sut);
    lane.route({
      method: 'POST',
      path: '/hot',
      handler: () => Promise.resolve({ status: 200, contentType: 'text/plain', body: 'lane' }),
      operation: { responses: {} },
      readsBody: isXmlContentType,
      requestIdPrefix: 'wh',
      logger: new Logger('HooksSpec'),
    });
    attachRequestHooks(fastify, sut);
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    const { port } = fastify.server.address() as AddressInfo;
    return { fastify, url: `http://127.0.0.1:${port}` };
  }

  it('should be called for framework routes and lane routes alike, with the route that matched', async () => {
    const sut = new RequestHooks();
    const seen: unknown[] = [];
    sut.add({
      onRequest: (req, route) => seen.push(['request', req.method, req.path, route]),
      onResponse: (req, route, status, ms) => seen.push(['response', req.method, req.path, route, status, ms >= 0]),
    });
    const { fastify, url } = await serve(sut);
    try {
      expect(await (await fetch(`${url}/items/42?q=secret`)).json()).toEqual({ id: 'i1' });
      expect(await (await fetch(`${url}/hot`, { method: 'POST' })).text()).toBe('lane');
      expect((await fetch(`${url}/nowhere`)).status).toBe(404);
    } finally {
      await fastify.close();
    }
    expect(seen).toEqual([
      ['request', 'GET', '/items/42', '/items/:id'],
      ['response', 'GET', '/items/42', '/items/:id', 200, true],
      ['request', 'POST', '/hot', '/hot'],
      ['response', 'POST', '/hot', '/hot', 200, true],
      ['request', 'GET', '/nowhere', undefined],
      ['response', 'GET', '/nowhere', undefined, 404, true],
    ]);
  });

  it('should answer a refusal on a framework route with the contract JSON error, without running the route', async () => {
    const sut = new RequestHooks();
    const statuses: number[] = [];
    sut.add({
      onRequest: (req) => {
        if (req.path.startsWith('/items/')) {
          throw new AppException(429, 'too_many_requests', 'Slow down.');
        }
      },
    });
    sut.add({ onResponse: (_req, _route, status) => statuses.push(status) });
    const { fastify, url } = await serve(sut);
    try {
      const res = await fetch(`${url}/items/42`);
      expect(res.status).toBe(429);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(await res.json()).toEqual({ statusCode: 429, error: 'too_many_requests', message: 'Slow down.' });
      expect(await (await fetch(`${url}/hot`, { method: 'POST' })).text()).toBe('lane');
    } finally {
      await fastify.close();
    }
    expect(statuses).toEqual([429, 200]);
  });

  it('should give Fastify no hook of a kind nobody added', () => {
    const fastify = createHttpAdapter().getInstance();
    const addHook = jest.spyOn(fastify, 'addHook');
    const sut = new RequestHooks();
    sut.add({ onResponse: () => undefined });
    attachRequestHooks(fastify, sut);
    expect(addHook.mock.calls.map(([name]) => name)).toEqual(['onResponse']);
  });

  it('should refuse a hook added once the server is set up, which Fastify would never call', () => {
    const sut = new RequestHooks();
    attachRequestHooks(createHttpAdapter().getInstance(), sut);
    expect(() => sut.add({ onRequest: () => undefined })).toThrow('while the app initialises');
  });
});
