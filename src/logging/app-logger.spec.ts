import pino from 'pino';
import { AppLogger } from 'src/logging/app-logger';
import { requestLogContext } from 'src/logging/request-context';

function capture(level = 'info'): { sut: AppLogger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { sut: new AppLogger(logger), lines };
}

describe(AppLogger.name, () => {
  it('should write one JSON line with the context Nest passes last', () => {
    const { sut, lines } = capture();
    sut.warn('WeChat answered busy', 'WeChatHttpClient');
    sut.error('Database unavailable', undefined, 'AllExceptionsFilter');
    expect(lines).toEqual([
      expect.objectContaining({ level: 40, context: 'WeChatHttpClient', msg: 'WeChat answered busy' }),
      expect.objectContaining({ level: 50, context: 'AllExceptionsFilter', msg: 'Database unavailable' }),
    ]);
  });

  it('should tag a line written while a request is served with that request', () => {
    const { sut, lines } = capture();
    requestLogContext.run({ id: 'req-7', method: 'GET', path: '/oauth/callback' }, () =>
      sut.log('New official-account user', 'OAuthService'),
    );
    sut.log('Listening');
    expect(lines[0]).toMatchObject({ req: { id: 'req-7', method: 'GET', path: '/oauth/callback' } });
    expect(lines[1].req).toBeUndefined();
  });

  it('should never write a stack trace', () => {
    const { sut, lines } = capture();
    const error = new Error('boom');
    sut.error(error.stack, undefined, 'AllExceptionsFilter');
    sut.error('Unhandled failure', error.stack, 'ExceptionsHandler');
    sut.error(error, 'ExceptionsHandler');
    expect(lines.map((line) => line.msg)).toEqual(['Error: boom', 'Unhandled failure', 'boom']);
    expect(JSON.stringify(lines)).not.toMatch(/\\n\s+at /);
  });

  it('should write nothing below LOG_LEVEL', () => {
    const { sut, lines } = capture('warn');
    sut.log('hidden');
    sut.debug('hidden');
    sut.verbose('hidden');
    sut.warn('shown');
    expect(lines.map((line) => line.msg)).toEqual(['shown']);
  });
});
