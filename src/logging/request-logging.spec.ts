import pino from 'pino';
import { createHttpAdapter } from 'src/app.setup';
import { attachRequestHooks, RequestHooks } from 'src/common/http/request-hooks';
import { AppLogger } from 'src/logging/app-logger';
import { registerRequestLogging } from 'src/logging/request-logging';

/** A bare instance of the service's HTTP platform with the request logging of the app, logging to memory. */
async function serve(level: string) {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const sut = createHttpAdapter().getInstance();
  const hooks = new RequestHooks();
  registerRequestLogging(sut, logger, hooks);
  const appLogger = new AppLogger(logger);
  sut.get('/health', () => ({ status: 'ok' }));
  sut.get('/api/me', async () => {
    await new Promise((resolve) => setImmediate(resolve));
    appLogger.warn('session checked', 'MeController');
    return { id: 'u1' };
  });
  attachRequestHooks(sut, hooks);
  await sut.ready();
  return { sut, lines };
}

describe('registerRequestLogging', () => {
  it('should write one line per request with method, path without the query string, status and time', async () => {
    const { sut, lines } = await serve('info');
    await sut.inject({
      method: 'GET',
      url: '/api/me?access_token=secret-in-query',
      headers: { cookie: 'sid=secret-cookie', authorization: 'Bearer secret-bearer' },
    });
    const access = lines.filter((line) => line.res);
    expect(access).toEqual([
      expect.objectContaining({
        level: 30,
        req: { id: expect.any(String), method: 'GET', path: '/api/me' },
        res: { statusCode: 200 },
        responseTime: expect.any(Number),
        msg: expect.stringMatching(/^GET \/api\/me 200 \d+ms$/),
      }),
    ]);
    expect(JSON.stringify(lines)).not.toMatch(/secret|headers/);
    await sut.close();
  });

  it('should tag lines written while serving a request with its id, method and path', async () => {
    const { sut, lines } = await serve('info');
    await sut.inject({ method: 'GET', url: '/api/me' });
    const [warning, access] = lines;
    expect(warning).toMatchObject({ context: 'MeController', msg: 'session checked' });
    expect(warning.req).toEqual(access.req);
    await sut.close();
  });

  it('should not log /health', async () => {
    const { sut, lines } = await serve('info');
    await sut.inject({ method: 'GET', url: '/health' });
    await sut.inject({ method: 'GET', url: '/health?probe=1' });
    expect(lines).toEqual([]);
    await sut.close();
  });

  it('should write no access lines above info and still tag warnings with their request', async () => {
    const { sut, lines } = await serve('warn');
    await sut.inject({ method: 'GET', url: '/api/me' });
    expect(lines).toEqual([expect.objectContaining({ level: 40, req: expect.objectContaining({ path: '/api/me' }) })]);
    await sut.close();
  });
});
