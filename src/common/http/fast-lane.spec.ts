import type { AddressInfo } from 'node:net';
import { FastLane, PlainHandler } from 'src/common/http/fast-lane';

describe('FastLane', () => {
  const operation = { summary: 'hot', responses: { '200': { description: 'ok' } } };
  const answer =
    (text: string): PlainHandler =>
    (_request, response) =>
      response.end(text);

  async function serve(lane: FastLane): Promise<{ url: string; close: () => Promise<void> }> {
    const server = lane.createServer(answer('framework'), { keepAliveTimeout: 5_000, requestTimeout: 10_000 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}`,
      close: () => new Promise((resolve) => server.close(() => resolve())),
    };
  }

  it('should answer its routes itself, in any case and with a trailing slash, and hands everything else on', async () => {
    const lane = new FastLane();
    lane.route('POST', '/hot/path', answer('lane'), operation);
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
    lane.route('POST', '/hot', answer('a'), operation);
    expect(() => lane.route('POST', '/HOT/', answer('b'), operation)).toThrow('already serves');
  });

  it('should add its routes to an OpenAPI document beside what the framework described', () => {
    const lane = new FastLane();
    lane.route('POST', '/hot', answer('a'), operation);
    const document = { openapi: '3.0.0', info: { title: 't', version: '1' }, paths: { '/hot': { get: operation } } };
    lane.describe(document);
    expect(document.paths['/hot']).toEqual({ get: operation, post: operation });
  });

  it('should be found from the server it made, and only from that', () => {
    const lane = new FastLane();
    const server = lane.createServer(answer('x'), { keepAliveTimeout: 1, requestTimeout: 1 });
    expect(FastLane.of(server)).toBe(lane);
    expect(FastLane.of({})).toBeUndefined();
  });
});
