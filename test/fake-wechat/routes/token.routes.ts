import type { FakeApp, FakeResponse, FakeWeChat } from 'test/fake-wechat/fake-wechat.server';
import { wechatError } from 'test/fake-wechat/fake-wechat.server';

interface IssuedToken {
  token: string;
  appid: string;
  expiresAt: number;
  kind: 'stable' | 'legacy';
}

interface TokenState {
  /** Every token WeChat would still accept, by value. */
  valid: Map<string, IssuedToken>;
  stable: Map<string, IssuedToken>;
  legacy: Map<string, IssuedToken>;
  forced: Map<string, { day: string; count: number; lastAt: number }>;
}

const FORCE_REFRESH_PER_DAY = 20;
const FORCE_REFRESH_INTERVAL_MS = 30_000;
/** Normal mode hands out a new token in the last 5 minutes; old and new both work until the old one expires. */
const HANDOVER_MS = 300_000;

export function tokenState(fake: FakeWeChat): TokenState {
  return fake.stateOf<TokenState>('tokens', () => ({
    valid: new Map(),
    stable: new Map(),
    legacy: new Map(),
    forced: new Map(),
  }));
}

function issue(fake: FakeWeChat, appid: string, kind: IssuedToken['kind']): IssuedToken {
  const issued = { token: fake.randomToken(), appid, expiresAt: fake.now() + fake.tokenTtlSeconds * 1000, kind };
  tokenState(fake).valid.set(issued.token, issued);
  return issued;
}

/** The token with its seconds left, rounded: a token issued a millisecond ago has 7200 left, as WeChat says. */
function answer(fake: FakeWeChat, issued: IssuedToken): FakeResponse {
  return {
    body: { access_token: issued.token, expires_in: Math.max(0, Math.round((issued.expiresAt - fake.now()) / 1000)) },
  };
}

/** Checks appid + secret the way WeChat does; returns the app, or WeChat's error. */
function authenticate(fake: FakeWeChat, appid: unknown, secret: unknown): FakeApp | FakeResponse {
  const app = typeof appid === 'string' ? fake.apps.get(appid) : undefined;
  if (!app) {
    return wechatError(40013, 'invalid appid');
  }
  if (secret !== app.secret) {
    return wechatError(40125, 'invalid appsecret');
  }
  return app;
}

const isError = (value: FakeApp | FakeResponse): value is FakeResponse => 'body' in value;

/**
 * The checks WeChat makes on a code exchange (`/sns/jscode2session`, `/sns/oauth2/access_token`): appid, secret and
 * `grant_type=authorization_code`. Returns the app, or WeChat's error answer.
 */
export function checkCodeExchange(fake: FakeWeChat, query: Record<string, string>): FakeApp | FakeResponse {
  const app = authenticate(fake, query.appid, query.secret);
  if (!isError(app) && query.grant_type !== 'authorization_code') {
    return wechatError(40002, 'invalid grant_type');
  }
  return app;
}

/**
 * Checks an `access_token` query parameter as WeChat's APIs do: 41001 missing, 42001 expired, 40001 unknown or
 * replaced. Returns the token's appid, or WeChat's error answer.
 */
export function checkAccessToken(fake: FakeWeChat, token: string | undefined): { appid: string } | FakeResponse {
  if (!token) {
    return wechatError(41001, 'access_token missing');
  }
  const issued = tokenState(fake).valid.get(token);
  if (!issued) {
    return wechatError(40001, 'invalid credential, access_token is invalid or not latest');
  }
  if (issued.expiresAt <= fake.now()) {
    return wechatError(42001, 'access_token expired');
  }
  return { appid: issued.appid };
}

/** As if another system had force-refreshed: every token of `appid` stops working at once. */
export function invalidateTokens(fake: FakeWeChat, appid: string): number {
  const state = tokenState(fake);
  let count = 0;
  for (const [token, issued] of state.valid) {
    if (issued.appid === appid) {
      state.valid.delete(token);
      count += 1;
    }
  }
  state.stable.delete(appid);
  state.legacy.delete(appid);
  return count;
}

export function registerTokenRoutes(fake: FakeWeChat): void {
  // https://developers.weixin.qq.com/doc/service/api/base/api_getaccesstoken : every call issues a new token and
  // the previous one stops working.
  fake.route('GET', '/cgi-bin/token', ({ query }) => {
    if (query.grant_type !== 'client_credential') {
      return wechatError(40002, 'invalid grant_type');
    }
    const app = authenticate(fake, query.appid, query.secret);
    if (isError(app)) {
      return app;
    }
    const state = tokenState(fake);
    const previous = state.legacy.get(app.appid);
    if (previous) {
      state.valid.delete(previous.token);
    }
    const issued = issue(fake, app.appid, 'legacy');
    state.legacy.set(app.appid, issued);
    return answer(fake, issued);
  });

  // https://developers.weixin.qq.com/doc/service/api/base/api_getstableaccesstoken : POST JSON only; normal mode
  // returns the current token while it has more than 5 minutes left; force_refresh replaces it (20 a day, 30 s apart).
  fake.route('*', '/cgi-bin/stable_token', ({ method, body }) => {
    if (method !== 'POST' || typeof body !== 'object' || body === null) {
      return wechatError(47001, 'data format error');
    }
    const { grant_type, appid, secret, force_refresh } = body as Record<string, unknown>;
    if (grant_type !== 'client_credential') {
      return wechatError(40002, 'invalid grant_type');
    }
    const app = authenticate(fake, appid, secret);
    if (isError(app)) {
      return app;
    }
    const state = tokenState(fake);
    const current = state.stable.get(app.appid);
    const currentValid = current !== undefined && state.valid.has(current.token) && current.expiresAt > fake.now();
    if (force_refresh === true) {
      const day = new Date(fake.now() + 8 * 3600_000).toISOString().slice(0, 10);
      const forced = state.forced.get(app.appid);
      const used = forced && forced.day === day ? forced : { day, count: 0, lastAt: 0 };
      if (used.count >= FORCE_REFRESH_PER_DAY) {
        return wechatError(45009, 'reach max api daily quota limit');
      }
      if (currentValid && fake.now() - used.lastAt < FORCE_REFRESH_INTERVAL_MS) {
        return answer(fake, current);
      }
      if (current) {
        state.valid.delete(current.token);
      }
      const issued = issue(fake, app.appid, 'stable');
      state.stable.set(app.appid, issued);
      state.forced.set(app.appid, { day, count: used.count + 1, lastAt: fake.now() });
      return answer(fake, issued);
    }
    if (currentValid && current.expiresAt - fake.now() > HANDOVER_MS) {
      return answer(fake, current);
    }
    const issued = issue(fake, app.appid, 'stable');
    state.stable.set(app.appid, issued);
    return answer(fake, issued);
  });
}
