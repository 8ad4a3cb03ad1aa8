import type { Fault, FakeWeChat } from 'test/fake-wechat/fake-wechat.server';
import { prepareLoginCode, preparePhoneCode } from 'test/fake-wechat/routes/mini-program.routes';
import { invalidateTokens } from 'test/fake-wechat/routes/token.routes';

type Body = Record<string, unknown>;

const asBody = (body: unknown): Body => (typeof body === 'object' && body !== null ? (body as Body) : {});
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/**
 * `/__control/*`: the emulator's test controls over HTTP, for the sandbox, benchmarks and tests that run the
 * emulator in another process. In-process tests call the same functions directly.
 */
export function registerControlRoutes(fake: FakeWeChat): void {
  fake.route('POST', '/__control/jscode', ({ body }) => {
    const spec = asBody(body);
    const code = prepareLoginCode(fake, {
      appid: str(spec.appid),
      openid: str(spec.openid),
      unionid: str(spec.unionid),
      risky: spec.risky === true,
    });
    return { body: { code } };
  });

  fake.route('POST', '/__control/jscodes', ({ body }) => {
    const count = Math.min(Math.max(Number(asBody(body).count) || 1, 1), 1_000_000);
    return { body: { codes: Array.from({ length: count }, () => prepareLoginCode(fake)) } };
  });

  fake.route('POST', '/__control/phonecode', ({ body }) => {
    const spec = asBody(body);
    return { body: { code: preparePhoneCode(fake, str(spec.phoneNumber), str(spec.countryCode)) } };
  });

  fake.route('POST', '/__control/fault', ({ body }) => {
    const spec = asBody(body);
    const path = str(spec.path);
    if (!path) {
      return { status: 400, body: { error: 'path is required' } };
    }
    let fault: Fault;
    if (typeof spec.errcode === 'number') {
      fault = { errcode: spec.errcode, errmsg: str(spec.errmsg) };
    } else if (typeof spec.httpStatus === 'number') {
      fault = { httpStatus: spec.httpStatus };
    } else if (typeof spec.delayMs === 'number') {
      fault = { delayMs: spec.delayMs };
    } else {
      fault = { garbage: true };
    }
    fake.inject(path, fault, typeof spec.times === 'number' ? spec.times : 1);
    return { body: { ok: true } };
  });

  fake.route('POST', '/__control/invalidate-token', ({ body }) => {
    const appid = str(asBody(body).appid) ?? '';
    return { body: { invalidated: invalidateTokens(fake, appid) } };
  });

  fake.route('GET', '/__control/calls', () => {
    const counts: Record<string, number> = {};
    for (const call of fake.calls) {
      counts[call.path] = (counts[call.path] ?? 0) + 1;
    }
    return { body: { counts } };
  });

  fake.route('POST', '/__control/reset', () => {
    fake.resetCalls();
    fake.clearFaults();
    return { body: { ok: true } };
  });
}
