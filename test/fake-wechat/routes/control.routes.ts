import type { FakeApp, Fault, FakeWeChat } from 'test/fake-wechat/fake-wechat.server';
import { prepareLoginCode, preparePhoneCode } from 'test/fake-wechat/routes/mini-program.routes';
import {
  checkWxConfig,
  currentTicket,
  invalidateTickets,
  isTicketType,
  TICKET_TYPES,
} from 'test/fake-wechat/routes/ticket.routes';
import { resetOAuthModes } from 'test/fake-wechat/routes/oauth.routes';
import { invalidateTokens } from 'test/fake-wechat/routes/token.routes';

type Body = Record<string, unknown>;

const asBody = (body: unknown): Body => (typeof body === 'object' && body !== null ? (body as Body) : {});
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

const APP_KINDS: readonly FakeApp['kind'][] = ['official_account', 'mini_program'];

/**
 * `/__control/*`: the emulator's test controls over HTTP, for the sandbox, benchmarks and tests that run the
 * emulator in another process. In-process tests call the same functions directly.
 *
 * - `POST jscode` `{appid?, openid?, unionid?, risky?}`, `POST jscodes` `{count}`, `POST phonecode`
 *   `{phoneNumber?, countryCode?}`: codes as the mini-program would get them.
 * - `POST fault` `{path, errcode | httpStatus | delayMs | garbage, times?}`: the next calls of a path fail.
 * - `POST invalidate-token` `{appid}`: every access token of the app stops working (another system force-refreshed).
 * - `POST invalidate-ticket` `{appid, type?}`: the app's current ticket (of `type`, else of every type) stops being
 *   current; the next getticket issues a new one. `GET tickets?appid=…[&type=…]`: the app's current tickets.
 * - `POST jssdk/verify` `{appId, timestamp, nonceStr, signature, url}`: would WeChat accept this `wx.config`?
 * - `POST apps` `{appid, secret, kind}`: registers (or replaces) an app at run time; `GET apps` lists them.
 * - `POST server` `{appid, url, token, aesKey?, mode?, originalId?}`: an account's 服务器配置 (where its events go).
 * - `POST scan` `{ticket | url | latest: true | scene (+ appid), openid?, as?: auto|scan|subscribe, server?}`: a user
 *   scans a QR
 *   code; the `SCAN` or `subscribe` event goes to the account's server, signed (and encrypted) as WeChat does, and
 *   the answer is `{event, appid, scene, openid, status, reply}` (reply decrypted). A first scan by an openid follows
 *   (subscribe), later ones are SCAN. An expired ticket → 410, nothing sent. `GET qrcodes?appid=…`: issued codes,
 *   newest first. (qrcode.routes.ts)
 * - `POST message-refusal` `{touser, errcode|null}`: every message to `touser` is refused with `errcode` (43004,
 *   43101, 45015, 40003, 40037, 47003, 45009…) until set to null; `GET messages?touser=…`: the messages accepted
 *   (`message.routes.ts`).
 * - `GET calls`: calls per path; `POST reset`: forgets calls and faults, and puts every OAuth mode back (the
 *   consent page, the default user, no 网页授权域名, the clock on time). OAuth controls: `oauth.routes.ts`.
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

  fake.route('POST', '/__control/invalidate-ticket', ({ body }) => {
    const spec = asBody(body);
    const appid = str(spec.appid);
    if (!appid) {
      return { status: 400, body: { error: 'appid is required' } };
    }
    if (spec.type !== undefined && !isTicketType(spec.type)) {
      return { status: 400, body: { error: `type is one of ${TICKET_TYPES.join(', ')}` } };
    }
    return { body: { invalidated: invalidateTickets(fake, appid, spec.type) } };
  });

  fake.route('GET', '/__control/tickets', ({ query }) => {
    if (!query.appid) {
      return { status: 400, body: { error: 'appid is required' } };
    }
    if (query.type !== undefined && !isTicketType(query.type)) {
      return { status: 400, body: { error: `type is one of ${TICKET_TYPES.join(', ')}` } };
    }
    const tickets = (query.type ? [query.type] : TICKET_TYPES).flatMap((type) => {
      const issued = currentTicket(fake, query.appid, type);
      return issued
        ? [{ type, ticket: issued.ticket, expiresIn: Math.max(0, Math.round((issued.expiresAt - fake.now()) / 1000)) }]
        : [];
    });
    return { body: { appid: query.appid, tickets } };
  });

  fake.route('POST', '/__control/jssdk/verify', ({ body }) => {
    const spec = asBody(body);
    const timestamp = typeof spec.timestamp === 'number' ? String(spec.timestamp) : str(spec.timestamp);
    const [appId, nonceStr, signature, url] = [spec.appId, spec.nonceStr, spec.signature, spec.url].map(str);
    if (!appId || !timestamp || !nonceStr || !signature || !url) {
      return { status: 400, body: { error: 'appId, timestamp, nonceStr, signature and url are required' } };
    }
    const refusal = checkWxConfig(fake, { appId, timestamp, nonceStr, signature, url });
    return { body: refusal ? { ok: false, reason: refusal } : { ok: true } };
  });

  fake.route('POST', '/__control/apps', ({ body }) => {
    const spec = asBody(body);
    const appid = str(spec.appid);
    const secret = str(spec.secret);
    const kind = APP_KINDS.find((each) => each === spec.kind);
    if (!appid || !/^wx[0-9A-Za-z]{6,32}$/.test(appid)) {
      return { status: 400, body: { error: 'appid must look like wx1234567890abcdef' } };
    }
    if (!secret) {
      return { status: 400, body: { error: 'secret is required' } };
    }
    if (!kind) {
      return { status: 400, body: { error: `kind is one of ${APP_KINDS.join(', ')}` } };
    }
    const replaced = fake.apps.has(appid);
    fake.addApp({ appid, secret, kind });
    return { status: replaced ? 200 : 201, body: { app: { appid, kind }, replaced } };
  });

  fake.route('GET', '/__control/apps', () => ({
    body: { apps: [...fake.apps.values()].map(({ appid, kind }) => ({ appid, kind })) },
  }));

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
    resetOAuthModes(fake);
    return { body: { ok: true } };
  });
}
