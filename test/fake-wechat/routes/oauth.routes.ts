import { randomBytes } from 'node:crypto';
import type { FakeRequest, FakeResponse, FakeWeChat } from 'test/fake-wechat/fake-wechat.server';
import { wechatError } from 'test/fake-wechat/fake-wechat.server';
import { checkCodeExchange } from 'test/fake-wechat/routes/token.routes';

/**
 * The OAuth side of the emulator: WeChat's web authorization (网页授权) for official accounts.
 * https://developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/Wechat_webpage_authorization.html
 *
 * - `GET /connect/oauth2/authorize` (open.weixin.qq.com): snsapi_base is silent (302 straight back with a code);
 *   snsapi_userinfo shows a consent page with 允许 / 拒绝, unless a test switched the mode to answer by itself.
 * - `/sns/oauth2/access_token`, `/sns/oauth2/refresh_token`, `/sns/userinfo`, `/sns/auth` (api.weixin.qq.com).
 * Codes work once and last 5 minutes; web access tokens last 7200 s; refresh tokens 30 days from the authorization.
 */

export type OAuthScope = 'snsapi_base' | 'snsapi_userinfo';

/** How the authorize page answers: show the consent page, or act as if the user tapped 允许 / 拒绝 at once. */
export type AuthorizeMode = 'page' | 'approve' | 'deny' | 'snapshot';

export interface FakeOAuthUser {
  openid: string;
  nickname: string;
  sex: number;
  province: string;
  city: string;
  country: string;
  /** Empty string: no avatar. Unset: the emulator's generated avatar. */
  headimgurl?: string;
  privilege: string[];
  /** Only when the official account is bound to an open-platform account. */
  unionid?: string;
}

interface IssuedCode {
  appid: string;
  openid: string;
  scope: OAuthScope;
  snapshot: boolean;
  expiresAt: number;
  used: boolean;
}

interface WebToken {
  appid: string;
  openid: string;
  scope: OAuthScope;
  expiresAt: number;
}

interface RefreshToken extends WebToken {
  accessToken: string;
}

interface OAuthState {
  /** Profiles by `appid:openid`. */
  users: Map<string, FakeOAuthUser>;
  /** The WeChat user "holding the phone": who the authorize page logs in as. */
  current: Partial<FakeOAuthUser> & { openid: string };
  mode: AuthorizeMode;
  /** Every authorization is by a new WeChat user (benchmarks: no two round trips share a user). */
  freshUserEachTime: boolean;
  /** 网页授权域名 per appid; unset: any host is accepted. */
  domains: Map<string, string>;
  codes: Map<string, IssuedCode>;
  accessTokens: Map<string, WebToken>;
  refreshTokens: Map<string, RefreshToken>;
}

export const OAUTH_CODE_TTL_MS = 5 * 60_000;
export const WEB_ACCESS_TOKEN_TTL_S = 7200;
export const REFRESH_TOKEN_TTL_MS = 30 * 24 * 3600_000;

export const DEFAULT_OAUTH_USER: Omit<FakeOAuthUser, 'openid'> = {
  nickname: '微信用户小明',
  sex: 1,
  province: '广东',
  city: '深圳',
  country: '中国',
  privilege: [],
};

const DEMO_OPENID = 'oDemoUser000000000000000001';

function oauthState(fake: FakeWeChat): OAuthState {
  return fake.stateOf<OAuthState>('oauth', () => ({
    users: new Map(),
    current: { openid: DEMO_OPENID, ...DEFAULT_OAUTH_USER },
    mode: 'page',
    freshUserEachTime: false,
    domains: new Map(),
    codes: new Map(),
    accessTokens: new Map(),
    refreshTokens: new Map(),
  }));
}

const newOpenid = (): string => `o${randomBytes(20).toString('base64url').slice(0, 27)}`;

/** Who the authorize page logs in as from now on; fields left out keep the default profile. */
export function setOAuthUser(fake: FakeWeChat, user: Partial<FakeOAuthUser> = {}): FakeOAuthUser {
  const given = Object.fromEntries(Object.entries(user).filter(([, value]) => value !== undefined));
  const next: FakeOAuthUser = { ...DEFAULT_OAUTH_USER, ...given, openid: user.openid ?? newOpenid() };
  const state = oauthState(fake);
  state.current = next;
  // A user WeChat already knows (under any app) changes at once: /sns/userinfo answers the new profile.
  for (const [key, known] of state.users) {
    if (known.openid === next.openid) {
      state.users.set(key, { ...known, ...given, openid: next.openid });
    }
  }
  return next;
}

/**
 * Back to how the emulator starts: the authorize page shown, the default user holding the phone, no 网页授权域名,
 * WeChat's clock on time. Codes and tokens already issued stay valid.
 */
export function resetOAuthModes(fake: FakeWeChat): void {
  const state = oauthState(fake);
  state.mode = 'page';
  state.freshUserEachTime = false;
  state.domains.clear();
  state.current = { openid: DEMO_OPENID, ...DEFAULT_OAUTH_USER };
  fake.clockOffsetMs = 0;
}

/** Changes the profile WeChat keeps for an openid (as if the user changed nickname or avatar in WeChat). */
export function updateOAuthProfile(fake: FakeWeChat, appid: string, openid: string, change: Partial<FakeOAuthUser>) {
  const state = oauthState(fake);
  const key = `${appid}:${openid}`;
  const existing = state.users.get(key) ?? { ...DEFAULT_OAUTH_USER, openid };
  state.users.set(key, { ...existing, ...change, openid });
  if (state.current.openid === openid) {
    state.current = { ...state.current, ...change, openid };
  }
}

export function setAuthorizeMode(fake: FakeWeChat, mode: AuthorizeMode, freshUserEachTime = false): void {
  const state = oauthState(fake);
  state.mode = mode;
  state.freshUserEachTime = freshUserEachTime;
}

/** Sets the 网页授权域名 of an app (host[:port]); redirect_uris on other hosts get error 10003. */
export function setOAuthDomain(fake: FakeWeChat, appid: string, domain: string | null): void {
  const domains = oauthState(fake).domains;
  if (domain) {
    domains.set(appid, domain);
  } else {
    domains.delete(appid);
  }
}

export interface OAuthCodeSpec {
  appid: string;
  scope?: OAuthScope;
  /** A visitor of the snapshot page (快照页): a virtual account, `is_snapshotuser: 1`. */
  snapshot?: boolean;
  user?: Partial<FakeOAuthUser>;
}

/** Mints the code WeChat would append to redirect_uri after the user agreed; also records the user's profile. */
export function mintOAuthCode(fake: FakeWeChat, spec: OAuthCodeSpec): string {
  const state = oauthState(fake);
  const snapshot = spec.snapshot ?? false;
  const base = spec.user ?? (state.freshUserEachTime ? { ...DEFAULT_OAUTH_USER, openid: newOpenid() } : state.current);
  // Snapshot pages hand out a virtual account, never the visitor's real openid.
  const openid = snapshot ? newOpenid() : (base.openid ?? newOpenid());
  const key = `${spec.appid}:${openid}`;
  state.users.set(
    key,
    snapshot
      ? { ...DEFAULT_OAUTH_USER, openid, nickname: '微信用户' }
      : { ...DEFAULT_OAUTH_USER, ...state.users.get(key), ...base, openid },
  );
  const code = randomBytes(16).toString('hex');
  state.codes.set(code, {
    appid: spec.appid,
    openid,
    // The snapshot page only ever gets a silent (base) authorization.
    scope: snapshot ? 'snsapi_base' : (spec.scope ?? 'snsapi_userinfo'),
    snapshot,
    expiresAt: fake.now() + OAUTH_CODE_TTL_MS,
    used: false,
  });
  return code;
}

/** The refresh token WeChat issued for an openid (tests check it never leaks). */
export function issuedRefreshTokens(fake: FakeWeChat, openid: string): string[] {
  return [...oauthState(fake).refreshTokens.entries()]
    .filter(([, issued]) => issued.openid === openid)
    .map(([token]) => token);
}

function withQuery(url: string, params: Record<string, string>): string {
  const parsed = new URL(url);
  for (const [key, value] of Object.entries(params)) {
    parsed.searchParams.set(key, value);
  }
  return parsed.toString();
}

const escapeHtml = (value: string): string => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** WeChat shows authorize errors as a page in the browser, not as a redirect. */
function authorizeErrorPage(code: number, message: string): FakeResponse {
  return {
    status: 200,
    contentType: 'text/html; charset=utf-8',
    headers: { 'x-wechat-error': String(code) },
    body: page('出错了', `<div class="card"><h1>出错了</h1><p class="err">${code}: ${escapeHtml(message)}</p></div>`),
  };
}

function page(title: string, body: string, script = ''): string {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1,maximum-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body{margin:0;font:16px/1.6 -apple-system,"PingFang SC","Microsoft YaHei","WenQuanYi Micro Hei",sans-serif;background:#ededed;color:#191919}
.bar{background:#f7f7f7;border-bottom:1px solid #ddd;text-align:center;padding:12px;font-size:17px}
.card{background:#fff;margin:16px;border-radius:8px;padding:24px 20px;text-align:center}
.app{font-size:20px;font-weight:600;margin:8px 0 4px}.muted{color:#888;font-size:14px}
.scope{text-align:left;border-top:1px solid #eee;margin-top:16px;padding-top:12px}
.me{display:flex;align-items:center;gap:12px;text-align:left;margin-top:12px}
.me img{width:48px;height:48px;border-radius:6px;background:#ddd}
button{display:block;width:100%;font-size:17px;padding:12px;border-radius:8px;border:0;margin-top:12px}
.allow{background:#07c160;color:#fff}.deny{background:#f2f2f2;color:#06ae56}.err{color:#fa5151}
button[disabled]{opacity:.4}
</style></head><body><div class="bar">微信授权</div>${body}${script}</body></html>`;
}

function avatarOf(user: FakeOAuthUser, request: FakeRequest): string {
  if (user.headimgurl !== undefined) {
    return user.headimgurl;
  }
  // The emulator also stands in for thirdwx.qlogo.cn: a generated avatar per openid.
  return `http://${request.headers.host ?? '127.0.0.1'}/mmopen/avatar.svg?u=${encodeURIComponent(user.openid)}`;
}

/** Validates the authorize request like open.weixin.qq.com; returns the parsed request or WeChat's error page. */
interface AuthorizeRequest {
  appid: string;
  redirectUri: string;
  scope: OAuthScope;
  state: string;
}

function parseAuthorize(fake: FakeWeChat, params: Record<string, string>): AuthorizeRequest | FakeResponse {
  const { appid, redirect_uri: redirectUri, response_type: responseType, scope } = params;
  const state = params.state ?? '';
  if (!appid) {
    return authorizeErrorPage(10012, 'appid 不能为空');
  }
  const app = fake.apps.get(appid);
  if (!app || app.kind !== 'official_account') {
    return authorizeErrorPage(10002, 'appid 参数错误');
  }
  if (!redirectUri) {
    return authorizeErrorPage(10011, 'redirect_uri 不能为空');
  }
  let target: URL;
  try {
    target = new URL(redirectUri);
  } catch {
    return authorizeErrorPage(10003, 'redirect_uri 参数错误');
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    return authorizeErrorPage(10003, 'redirect_uri 参数错误');
  }
  const domain = oauthState(fake).domains.get(appid);
  if (domain && target.host !== domain && target.hostname !== domain) {
    return authorizeErrorPage(10003, 'redirect_uri 域名与后台配置不一致');
  }
  if (responseType !== 'code') {
    return authorizeErrorPage(10001, 'response_type 参数错误');
  }
  if (!scope) {
    return authorizeErrorPage(10010, 'scope 不能为空');
  }
  if (scope !== 'snsapi_base' && scope !== 'snsapi_userinfo') {
    return authorizeErrorPage(10005, '此公众号并没有这些 scope 的权限');
  }
  // state: letters and digits, at most 128 bytes.
  if (!/^[A-Za-z0-9]{0,128}$/.test(state)) {
    return authorizeErrorPage(10013, 'state 参数错误');
  }
  return { appid, redirectUri, scope, state };
}

function redirectBack(redirectUri: string, params: Record<string, string>): FakeResponse {
  return { status: 302, headers: { location: withQuery(redirectUri, params) }, body: '' };
}

function consentPage(fake: FakeWeChat, request: FakeRequest, params: AuthorizeRequest): FakeResponse {
  const { appid, redirectUri, scope, state } = params;
  const me = oauthState(fake).current;
  const user: FakeOAuthUser = { ...DEFAULT_OAUTH_USER, ...me };
  const hidden = (name: string, value: string) => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
  const body = `<form class="card" method="post" action="/connect/oauth2/authorize/confirm">
<div class="muted">网页由该公众号开发</div>
<div class="app">公众号 ${escapeHtml(appid)}</div>
<div class="muted">申请获得以下权限</div>
<div class="scope">获得你的公开信息（昵称、头像、地区及性别）
<div class="me"><img alt="" src="${escapeHtml(avatarOf(user, request))}"><div>${escapeHtml(user.nickname)}<div class="muted">微信个人信息</div></div></div></div>
${hidden('appid', appid)}${hidden('redirect_uri', redirectUri)}${hidden('scope', scope)}${hidden('state', state)}
<input type="hidden" name="fragment" id="fragment" value="">
<p class="err" id="hash-error" hidden>链接缺少 #wechat_redirect，无法完成授权。</p>
<button class="allow" type="submit" name="action" value="allow">允许</button>
<button class="deny" type="submit" name="action" value="deny">拒绝</button>
</form>`;
  // WeChat only completes authorize URLs that end in #wechat_redirect; the fragment never reaches a server, so the
  // page reads it and posts it with the answer.
  const script = `<script>
var h=location.hash.slice(1);document.getElementById('fragment').value=h;
if(h!=='wechat_redirect'){document.getElementById('hash-error').hidden=false;
document.querySelectorAll('button').forEach(function(b){b.disabled=true;});}
</script>`;
  return { status: 200, contentType: 'text/html; charset=utf-8', body: page('微信授权', body, script) };
}

function avatarSvg(seed: string): string {
  let hash = 0;
  for (const char of seed) {
    hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  }
  const hue = hash % 360;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="132" height="132" viewBox="0 0 132 132">
<rect width="132" height="132" fill="hsl(${hue},55%,55%)"/><circle cx="66" cy="52" r="24" fill="#fff" opacity=".9"/>
<rect x="26" y="86" width="80" height="46" rx="23" fill="#fff" opacity=".9"/></svg>`;
}

type Body = Record<string, unknown>;
const asBody = (body: unknown): Body => (typeof body === 'object' && body !== null ? (body as Body) : {});
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

export function registerOAuthRoutes(fake: FakeWeChat): void {
  // open.weixin.qq.com/connect/oauth2/authorize?appid&redirect_uri&response_type=code&scope&state#wechat_redirect
  fake.route('GET', '/connect/oauth2/authorize', (request) => {
    const parsed = parseAuthorize(fake, request.query);
    if ('body' in parsed) {
      return parsed;
    }
    const state = oauthState(fake);
    // snsapi_base is silent: no page, straight back with a code.
    const mode: AuthorizeMode = parsed.scope === 'snsapi_base' && state.mode === 'page' ? 'approve' : state.mode;
    switch (mode) {
      case 'page':
        return consentPage(fake, request, parsed);
      case 'deny':
        return redirectBack(parsed.redirectUri, { state: parsed.state });
      case 'approve':
      case 'snapshot':
        return redirectBack(parsed.redirectUri, {
          code: mintOAuthCode(fake, { appid: parsed.appid, scope: parsed.scope, snapshot: mode === 'snapshot' }),
          state: parsed.state,
        });
    }
  });

  // What the consent page's 允许 / 拒绝 buttons post (the real page's internals are WeChat's own).
  fake.route('POST', '/connect/oauth2/authorize/confirm', (request) => {
    const form = Object.fromEntries(new URLSearchParams(request.rawBody).entries());
    const parsed = parseAuthorize(fake, { ...form, response_type: 'code' });
    if ('body' in parsed) {
      return parsed;
    }
    if (form.fragment !== 'wechat_redirect') {
      return authorizeErrorPage(10003, '链接缺少 #wechat_redirect');
    }
    if (form.action !== 'allow') {
      // Refused: back to redirect_uri with the state and no code.
      return redirectBack(parsed.redirectUri, { state: parsed.state });
    }
    return redirectBack(parsed.redirectUri, {
      code: mintOAuthCode(fake, { appid: parsed.appid, scope: parsed.scope }),
      state: parsed.state,
    });
  });

  // Browsers ask every host for one; the emulator has none (and must not log it as an unmocked call).
  fake.route('GET', '/favicon.ico', () => ({ status: 404, body: '', contentType: 'image/x-icon' }));

  fake.route('GET', '/mmopen/avatar.svg', ({ query }) => ({
    contentType: 'image/svg+xml',
    body: avatarSvg(query.u ?? ''),
  }));

  // 第二步：通过 code 换取网页授权 access_token
  fake.route('GET', '/sns/oauth2/access_token', ({ query }) => {
    const app = checkCodeExchange(fake, query);
    if ('body' in app) {
      return app;
    }
    const state = oauthState(fake);
    const issued = state.codes.get(query.code ?? '');
    if (!issued || issued.appid !== app.appid || issued.expiresAt <= fake.now()) {
      return wechatError(40029, 'invalid code');
    }
    if (issued.used) {
      return wechatError(40163, 'code been used');
    }
    issued.used = true;
    const accessToken = fake.randomToken(60);
    const refreshToken = fake.randomToken(60);
    const token = { appid: app.appid, openid: issued.openid, scope: issued.scope };
    state.accessTokens.set(accessToken, { ...token, expiresAt: fake.now() + WEB_ACCESS_TOKEN_TTL_S * 1000 });
    state.refreshTokens.set(refreshToken, { ...token, accessToken, expiresAt: fake.now() + REFRESH_TOKEN_TTL_MS });
    const profile = state.users.get(`${app.appid}:${issued.openid}`);
    return {
      body: {
        access_token: accessToken,
        expires_in: WEB_ACCESS_TOKEN_TTL_S,
        refresh_token: refreshToken,
        openid: issued.openid,
        scope: issued.scope,
        ...(issued.snapshot ? { is_snapshotuser: 1 } : {}),
        ...(profile?.unionid && !issued.snapshot ? { unionid: profile.unionid } : {}),
      },
    };
  });

  // 第三步：刷新 access_token（refresh_token 有效期 30 天，过期需用户重新授权）
  fake.route('GET', '/sns/oauth2/refresh_token', ({ query }) => {
    const app = fake.apps.get(query.appid ?? '');
    if (!app) {
      return wechatError(40013, 'invalid appid');
    }
    if (query.grant_type !== 'refresh_token') {
      return wechatError(40002, 'invalid grant_type');
    }
    const state = oauthState(fake);
    const issued = state.refreshTokens.get(query.refresh_token ?? '');
    if (!issued || issued.appid !== app.appid) {
      return wechatError(40030, 'invalid refresh_token');
    }
    if (issued.expiresAt <= fake.now()) {
      return wechatError(42002, 'refresh_token expired');
    }
    // A live access token keeps its value and gets a new lifetime; a lapsed one is replaced.
    const current = state.accessTokens.get(issued.accessToken);
    const accessToken = current && current.expiresAt > fake.now() ? issued.accessToken : fake.randomToken(60);
    state.accessTokens.set(accessToken, {
      appid: issued.appid,
      openid: issued.openid,
      scope: issued.scope,
      expiresAt: fake.now() + WEB_ACCESS_TOKEN_TTL_S * 1000,
    });
    issued.accessToken = accessToken;
    return {
      body: {
        access_token: accessToken,
        expires_in: WEB_ACCESS_TOKEN_TTL_S,
        refresh_token: query.refresh_token,
        openid: issued.openid,
        scope: issued.scope,
      },
    };
  });

  const checkWebToken = (query: Record<string, string>): WebToken | FakeResponse => {
    if (!query.access_token) {
      return wechatError(41001, 'access_token missing');
    }
    const token = oauthState(fake).accessTokens.get(query.access_token);
    if (!token) {
      return wechatError(40001, 'invalid credential, access_token is invalid or not latest');
    }
    if (token.expiresAt <= fake.now()) {
      return wechatError(42001, 'access_token expired');
    }
    if (query.openid !== token.openid) {
      return wechatError(40003, 'invalid openid');
    }
    return token;
  };

  // 第四步：拉取用户信息（需 scope 为 snsapi_userinfo）
  fake.route('GET', '/sns/userinfo', (request) => {
    const token = checkWebToken(request.query);
    if ('body' in token) {
      return token;
    }
    if (token.scope !== 'snsapi_userinfo') {
      return wechatError(48001, 'api unauthorized');
    }
    const user = oauthState(fake).users.get(`${token.appid}:${token.openid}`) ?? {
      ...DEFAULT_OAUTH_USER,
      openid: token.openid,
    };
    return {
      body: {
        openid: user.openid,
        nickname: user.nickname,
        sex: user.sex,
        province: user.province,
        city: user.city,
        country: user.country,
        headimgurl: avatarOf(user, request),
        privilege: user.privilege,
        ...(user.unionid ? { unionid: user.unionid } : {}),
      },
    };
  });

  // 附：检验授权凭证（access_token）是否有效
  fake.route('GET', '/sns/auth', ({ query }) => {
    const token = checkWebToken(query);
    if ('body' in token) {
      return token;
    }
    return { body: { errcode: 0, errmsg: 'ok' } };
  });

  registerOAuthControls(fake);
}

/** `/__control/oauth/*`: the same test controls over HTTP, for the sandbox, the benchmark and manual testing. */
function registerOAuthControls(fake: FakeWeChat): void {
  fake.route('POST', '/__control/oauth/user', ({ body }) => {
    const spec = asBody(body);
    const user = setOAuthUser(fake, {
      openid: str(spec.openid),
      nickname: str(spec.nickname),
      headimgurl: str(spec.headimgurl),
      unionid: str(spec.unionid),
      province: str(spec.province),
      city: str(spec.city),
      country: str(spec.country),
      sex: typeof spec.sex === 'number' ? spec.sex : undefined,
    });
    return { body: { user } };
  });

  fake.route('POST', '/__control/oauth/mode', ({ body }) => {
    const spec = asBody(body);
    const mode = str(spec.mode);
    if (mode !== 'page' && mode !== 'approve' && mode !== 'deny' && mode !== 'snapshot') {
      return { status: 400, body: { error: 'mode is one of page, approve, deny, snapshot' } };
    }
    setAuthorizeMode(fake, mode, spec.freshUserEachTime === true);
    return { body: { mode, freshUserEachTime: spec.freshUserEachTime === true } };
  });

  fake.route('POST', '/__control/oauth/code', ({ body }) => {
    const spec = asBody(body);
    const appid = str(spec.appid) ?? [...fake.apps.values()].find((app) => app.kind === 'official_account')?.appid;
    if (!appid) {
      return { status: 400, body: { error: 'appid is required' } };
    }
    const scope = str(spec.scope) === 'snsapi_base' ? 'snsapi_base' : 'snsapi_userinfo';
    return { body: { code: mintOAuthCode(fake, { appid, scope, snapshot: spec.snapshot === true }) } };
  });

  fake.route('POST', '/__control/oauth/domain', ({ body }) => {
    const spec = asBody(body);
    const appid = str(spec.appid);
    if (!appid) {
      return { status: 400, body: { error: 'appid is required' } };
    }
    setOAuthDomain(fake, appid, str(spec.domain) ?? null);
    return { body: { ok: true } };
  });

  fake.route('POST', '/__control/oauth/clock', ({ body }) => {
    const advanceMs = Number(asBody(body).advanceMs);
    if (!Number.isFinite(advanceMs)) {
      return { status: 400, body: { error: 'advanceMs (number) is required' } };
    }
    fake.clockOffsetMs += advanceMs;
    return { body: { clockOffsetMs: fake.clockOffsetMs } };
  });
}
