import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ForwardClient, refusedForwardUrl } from 'src/messaging/forward.client';
import { forwardSignature } from 'src/messaging/forward-message';

describe(ForwardClient.name, () => {
  it.each([
    ['https://backend.example.com/wechat', null],
    ['http://127.0.0.1:8080/f', null],
    ['http://localhost:8080/f', null],
    ['http://[::1]:8080/f', null],
    ['http://backend.example.com/f', /loopback/],
    ['http://10.0.0.5/f', /loopback/],
    ['ftp://backend.example.com/f', /not http/],
    ['nonsense', /not a URL/],
  ])('should judge %s', (url, refusal) => {
    const answer = refusedForwardUrl(url);
    if (refusal === null) {
      expect(answer).toBeNull();
    } else {
      expect(answer).toMatch(refusal);
    }
  });

  describe('against a local server', () => {
    let server: Server;
    let hits: string[];
    let headers: Record<string, string | string[] | undefined>[];
    const client = new ForwardClient();

    beforeAll(async () => {
      hits = [];
      headers = [];
      server = createServer((req, res) => {
        hits.push(req.url ?? '');
        headers.push(req.headers);
        if (req.url === '/redirect') {
          res.writeHead(302, { location: '/elsewhere' }).end();
        } else if (req.url === '/silent') {
          // Never answers: the forward times out.
        } else if (req.url === '/huge') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(`{"reply":"${'x'.repeat(100_000)}"}`);
        } else if (req.url === '/broken') {
          res.writeHead(500).end('oops');
        } else {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"reply":null}');
        }
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });

    afterAll(async () => {
      await client.onApplicationShutdown();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    const url = (path: string) => `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;

    it('should not follow a redirect: it is a failed forward', async () => {
      const result = await client.post(url('/redirect'), '{}', 'secret-0123456789');
      expect(result).toEqual({ ok: false, error: expect.stringMatching(/302.*not followed/), permanent: false });
      expect(hits).not.toContain('/elsewhere');
    });

    it('should answer the body of a 2xx', async () => {
      expect(await client.post(url('/ok'), '{}', 'secret-0123456789')).toEqual({
        ok: true,
        status: 200,
        body: '{"reply":null}',
      });
    });

    it('should sign the raw body and send it as JSON, to the path and query of the URL', async () => {
      const body = '{"id":"1","fields":{"Content":"你好"}}';
      await client.post(url('/ok?team=a'), body, 'secret-0123456789');
      expect(hits[hits.length - 1]).toBe('/ok?team=a');
      expect(headers[headers.length - 1]).toMatchObject({
        'content-type': 'application/json; charset=utf-8',
        'content-length': String(Buffer.byteLength(body)),
        'x-signature': forwardSignature('secret-0123456789', Buffer.from(body)),
      });
    });

    it('should send credentials written into the URL as Basic authorization', async () => {
      const port = (server.address() as AddressInfo).port;
      await client.post(`http://team:p%40ss@127.0.0.1:${port}/ok`, '{}', 'secret-0123456789');
      expect(headers[headers.length - 1].authorization).toBe(`Basic ${Buffer.from('team:p@ss').toString('base64')}`);
    });

    it('should count a backend that does not answer in time as a failed try', async () => {
      const started = Date.now();
      expect(await client.post(url('/silent'), '{}', 'secret-0123456789', 300)).toEqual({
        ok: false,
        error: 'no answer within 300 ms',
        permanent: false,
      });
      expect(Date.now() - started).toBeLessThan(2_000);
    });

    it('should count a 5xx as a failed try, and take a 2xx too long to be a reply as one without a reply', async () => {
      expect(await client.post(url('/broken'), '{}', 'secret-0123456789')).toEqual({
        ok: false,
        error: 'HTTP 500',
        permanent: false,
      });
      expect(await client.post(url('/huge'), '{}', 'secret-0123456789')).toEqual({ ok: true, status: 200, body: '' });
    });

    it('should count a refused connection as a failed try, to be retried', async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      expect(await client.post(`http://127.0.0.1:${port}/f`, '{}', 'secret-0123456789')).toEqual({
        ok: false,
        error: 'ECONNREFUSED',
        permanent: false,
      });
    });

    it('should refuse plain http off loopback without connecting', async () => {
      expect(await client.post('http://backend.example.com/f', '{}', 's')).toMatchObject({
        ok: false,
        permanent: true,
      });
    });
  });
});
