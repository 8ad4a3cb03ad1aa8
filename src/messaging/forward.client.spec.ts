import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ForwardClient, refusedForwardUrl } from 'src/messaging/forward.client';

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
    const client = new ForwardClient();

    beforeAll(async () => {
      hits = [];
      server = createServer((req, res) => {
        hits.push(req.url ?? '');
        if (req.url === '/redirect') {
          res.writeHead(302, { location: '/elsewhere' }).end();
        } else {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"reply":null}');
        }
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });

    afterAll(async () => {
      client.onApplicationShutdown();
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

    it('should refuse plain http off loopback without connecting', async () => {
      expect(await client.post('http://backend.example.com/f', '{}', 's')).toMatchObject({
        ok: false,
        permanent: true,
      });
    });
  });
});
