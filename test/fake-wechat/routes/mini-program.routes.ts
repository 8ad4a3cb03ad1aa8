import { randomBytes } from 'node:crypto';
import type { FakeWeChat } from 'test/fake-wechat/fake-wechat.server';
import { wechatError } from 'test/fake-wechat/fake-wechat.server';
import { checkAccessToken, checkCodeExchange } from 'test/fake-wechat/routes/token.routes';

export interface LoginCodeSpec {
  appid?: string;
  openid?: string;
  unionid?: string;
  /** WeChat's risk control refuses this user (errcode 40226). */
  risky?: boolean;
}

interface LoginCode extends Required<Pick<LoginCodeSpec, 'openid'>> {
  appid?: string;
  unionid?: string;
  risky: boolean;
  expiresAt: number;
  used: boolean;
}

interface PhoneCode {
  phoneNumber: string;
  purePhoneNumber: string;
  countryCode: string;
  expiresAt: number;
  used: boolean;
}

interface MiniProgramState {
  loginCodes: Map<string, LoginCode>;
  phoneCodes: Map<string, PhoneCode>;
  /** session_key per appid:openid; WeChat keeps one while the user's login state lasts. */
  sessionKeys: Map<string, string>;
}

/** wx.login codes last 5 minutes and work once. */
const LOGIN_CODE_TTL_MS = 5 * 60_000;
/** getPhoneNumber codes last 5 minutes and work once. */
const PHONE_CODE_TTL_MS = 5 * 60_000;

function miniProgramState(fake: FakeWeChat): MiniProgramState {
  return fake.stateOf<MiniProgramState>('mini-program', () => ({
    loginCodes: new Map(),
    phoneCodes: new Map(),
    sessionKeys: new Map(),
  }));
}

/** What wx.login() would hand the mini-program: a code for this (new or given) openid. */
export function prepareLoginCode(fake: FakeWeChat, spec: LoginCodeSpec = {}): string {
  const code = randomBytes(16).toString('hex');
  miniProgramState(fake).loginCodes.set(code, {
    appid: spec.appid,
    openid: spec.openid ?? `o${randomBytes(14).toString('base64url')}`,
    unionid: spec.unionid,
    risky: spec.risky ?? false,
    expiresAt: fake.now() + LOGIN_CODE_TTL_MS,
    used: false,
  });
  return code;
}

/** What the getPhoneNumber button would hand the mini-program. */
export function preparePhoneCode(fake: FakeWeChat, phoneNumber = '13800138000', countryCode = '86'): string {
  const code = randomBytes(16).toString('hex');
  const purePhoneNumber = phoneNumber.replace(/^\+\d+\s*/, '');
  miniProgramState(fake).phoneCodes.set(code, {
    phoneNumber,
    purePhoneNumber,
    countryCode,
    expiresAt: fake.now() + PHONE_CODE_TTL_MS,
    used: false,
  });
  return code;
}

export function registerMiniProgramRoutes(fake: FakeWeChat): void {
  // https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-login/code2Session.html
  fake.route('GET', '/sns/jscode2session', ({ query }) => {
    const app = checkCodeExchange(fake, query);
    if ('body' in app) {
      return app;
    }
    const state = miniProgramState(fake);
    const login = state.loginCodes.get(query.js_code ?? '');
    if (!login || login.expiresAt <= fake.now() || (login.appid !== undefined && login.appid !== app.appid)) {
      return wechatError(40029, 'invalid code');
    }
    if (login.used) {
      return wechatError(40163, 'code been used');
    }
    login.used = true;
    if (login.risky) {
      return wechatError(40226, 'high risk user');
    }
    const key = `${app.appid}:${login.openid}`;
    const sessionKey = state.sessionKeys.get(key) ?? randomBytes(16).toString('base64');
    state.sessionKeys.set(key, sessionKey);
    // A success carries no errcode.
    return {
      body: { session_key: sessionKey, openid: login.openid, ...(login.unionid ? { unionid: login.unionid } : {}) },
    };
  });

  // https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-info/phone-number/getPhoneNumber.html
  fake.route('*', '/wxa/business/getuserphonenumber', ({ method, query, body }) => {
    if (method !== 'POST') {
      return wechatError(43002, 'require POST method');
    }
    const token = checkAccessToken(fake, query.access_token);
    if ('body' in token) {
      return token;
    }
    const code = (body as { code?: unknown } | null)?.code;
    const phone = typeof code === 'string' ? miniProgramState(fake).phoneCodes.get(code) : undefined;
    if (!phone || phone.expiresAt <= fake.now() || phone.used) {
      return wechatError(40029, 'invalid code');
    }
    phone.used = true;
    return {
      body: {
        errcode: 0,
        errmsg: 'ok',
        phone_info: {
          phoneNumber: phone.phoneNumber,
          purePhoneNumber: phone.purePhoneNumber,
          countryCode: phone.countryCode,
          watermark: { timestamp: Math.floor(fake.now() / 1000), appid: token.appid },
        },
      },
    };
  });
}
