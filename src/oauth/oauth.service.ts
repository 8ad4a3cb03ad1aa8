import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { randomBytes } from 'node:crypto';
import { AppException } from 'src/common/errors/app-exception';
import { SecretSealer, sha256Hex } from 'src/common/sealing/secret-sealer';
import type { Configuration, OfficialAccountConfig } from 'src/config/configuration';
import { MeDto } from 'src/identity/dto/me.dto';
import { IdentityService } from 'src/identity/identity.service';
import type {
  IssuedSession,
  LinkResult,
  UserProfileUpdate,
  WeChatIdentity,
  WeChatProfile,
} from 'src/identity/identity.types';
import { SessionService } from 'src/identity/session.service';
import { OAuthStateRepository } from 'src/oauth/oauth-state.repository';
import { safeReturnTo } from 'src/oauth/return-to';
import type { HomeView } from 'src/oauth/views/pages';
import {
  OAUTH_SCOPES,
  OAuthScope,
  WeChatOAuthClient,
  WebAccessToken,
  WebUserInfo,
} from 'src/oauth/wechat-oauth.client';
import { isWeChatErrcode } from 'src/wechat/http/wechat-api.error';
import { WeChatErrcode } from 'src/wechat/http/wechat-errcode';

/** A state lives 10 minutes (the contract); WeChat's codes live 5. */
export const STATE_TTL_SECONDS = 600;
/** WeChat's refresh_token lasts 30 days from the authorization; refreshing does not extend it. */
const REFRESH_TOKEN_TTL_MS = 30 * 24 * 3600_000;
const DEFAULT_SCOPE: OAuthScope = 'snsapi_userinfo';
/** The browser-binding cookie value: 32 random bytes, base64url. */
const BROWSER_KEY = /^[A-Za-z0-9_-]{43}$/;
/** The state we hand WeChat: letters and digits only (WeChat allows a-zA-Z0-9, up to 128 bytes). */
const STATE_FORMAT = /^[0-9a-f]{48}$/;

export interface AuthorizeResult {
  /** WeChat's authorize URL to redirect the browser to. */
  location: string;
  /** The browser-binding cookie value to (re)set. */
  browserKey: string;
}

export type CallbackOutcome =
  | { kind: 'login'; returnTo: string; session: IssuedSession }
  | { kind: 'refused'; retryUrl: string }
  | { kind: 'snapshot'; retryUrl: string };

const invalidState = (message: string) => new AppException(400, 'invalid_state', message);
const reauthorize = (message: string) => new AppException(409, 'reauthorize', message);

function retryUrl(scope: OAuthScope, returnTo: string): string {
  return `/oauth/authorize?scope=${scope}&returnTo=${encodeURIComponent(returnTo)}`;
}

/**
 * Web authorization in the WeChat browser: authorize URL, callback, profile refresh. WeChat failures this service
 * does not turn into a page or a `reauthorize` go up to the shared error body.
 */
@Injectable()
export class OAuthService {
  private readonly logger = new Logger(OAuthService.name);
  private readonly oa: OfficialAccountConfig;
  private readonly openBase: string;
  private readonly callbackUrl: string;

  constructor(
    private readonly client: WeChatOAuthClient,
    private readonly states: OAuthStateRepository,
    private readonly identities: IdentityService,
    private readonly sessions: SessionService,
    private readonly sealer: SecretSealer,
    config: ConfigService<Configuration, true>,
  ) {
    const wechat = config.get('wechat', { infer: true });
    this.oa = wechat.oa;
    this.openBase = wechat.openBase;
    this.callbackUrl = `${config.get('app', { infer: true }).publicBaseUrl}/oauth/callback`;
  }

  /** Records a single-use state bound to this browser and builds WeChat's authorize URL. */
  async authorize(input: { scope?: unknown; returnTo?: unknown; browserKey?: unknown }): Promise<AuthorizeResult> {
    const scope = input.scope ?? DEFAULT_SCOPE;
    if (!isScope(scope)) {
      throw new AppException(400, 'bad_request', 'scope must be snsapi_base or snsapi_userinfo');
    }
    const { appId } = this.credentials();
    const browserKey =
      typeof input.browserKey === 'string' && BROWSER_KEY.test(input.browserKey)
        ? input.browserKey
        : randomBytes(32).toString('base64url');
    const state = randomBytes(24).toString('hex');
    await this.states.create(
      sha256Hex(state),
      sha256Hex(browserKey),
      { scope, returnTo: safeReturnTo(input.returnTo) },
      STATE_TTL_SECONDS,
    );
    // Parameter order and #wechat_redirect as WeChat's documentation requires.
    const location =
      `${this.openBase}/connect/oauth2/authorize?appid=${appId}` +
      `&redirect_uri=${encodeURIComponent(this.callbackUrl)}&response_type=code&scope=${scope}` +
      `&state=${state}#wechat_redirect`;
    return { location, browserKey };
  }

  /**
   * WeChat's redirect back. The state is consumed first, in one statement, so a reload or a concurrent second hit
   * of the same URL finds nothing and creates nothing.
   */
  async callback(input: {
    code?: unknown;
    state?: unknown;
    browserKey?: unknown;
    sessionToken: string | null;
  }): Promise<CallbackOutcome> {
    const { appId, secret } = this.credentials();
    const code = typeof input.code === 'string' && input.code.length > 0 ? input.code : null;
    const pending = await this.consumeState(input.state, input.browserKey);
    if (!code) {
      // The user tapped 拒绝: WeChat comes back with the state and no code.
      return { kind: 'refused', retryUrl: retryUrl(pending?.scope ?? DEFAULT_SCOPE, pending?.returnTo ?? '/') };
    }
    if (!pending) {
      throw invalidState('This login link is unknown, already used, expired, or was started in another browser.');
    }
    const token = await this.client.exchangeCode(appId, secret, code).catch((error: unknown) => {
      throw this.codeError(error);
    });
    if (typeof token.openid !== 'string' || typeof token.access_token !== 'string') {
      throw new AppException(502, 'wechat_unavailable', 'WeChat answered the code exchange without an openid.');
    }
    if (token.is_snapshotuser === 1) {
      // A virtual account of the snapshot page: its openid and profile are not the visitor's.
      return { kind: 'snapshot', retryUrl: retryUrl(pending.scope, pending.returnTo) };
    }
    const info =
      pending.scope === 'snsapi_userinfo' && grants(token, 'snsapi_userinfo')
        ? await this.client.userInfo(appId, token.access_token, token.openid)
        : null;
    const bindToUserId = input.sessionToken ? await this.sessions.authenticate(input.sessionToken) : null;
    // The identity, the user's profile and the new session are written by one statement.
    const { identity, userProfile } = this.webIdentity(appId, token, info, new Date(Date.now() + REFRESH_TOKEN_TTL_MS));
    const login = await this.identities.login(identity, { bindToUserId, userProfile });
    this.logLink(token.openid, login, bindToUserId);
    return { kind: 'login', returnTo: pending.returnTo, session: login.session };
  }

  /**
   * Refreshes the user's WeChat profile with the kept refresh_token, without a new authorization:
   * refresh_token → access_token, /sns/auth, /sns/userinfo. 409 `reauthorize` once that is no longer possible.
   */
  async sync(userId: string): Promise<MeDto> {
    const { appId } = this.credentials();
    const me = await this.identities.getMe(userId);
    const identity = me.identities.find((item) => item.source === 'official_account' && item.appid === appId);
    const kept = identity ? await this.identities.refreshTokenOf(appId, identity.openid) : null;
    if (!identity || !kept) {
      throw reauthorize('No WeChat web authorization is kept for this user: log in again at /oauth/authorize.');
    }
    if (kept.expiresAt && kept.expiresAt.getTime() <= Date.now()) {
      throw reauthorize('The WeChat authorization has lapsed (30 days): log in again at /oauth/authorize.');
    }
    let refreshToken: string;
    try {
      refreshToken = this.sealer.open(kept.sealed);
    } catch (cause) {
      this.logger.error(`Kept refresh_token of openid ${identity.openid} cannot be opened: ${String(cause)}`);
      throw reauthorize('The kept WeChat authorization is unreadable: log in again at /oauth/authorize.');
    }
    const token = await this.client.refresh(appId, refreshToken).catch((error: unknown) => {
      throw isWeChatErrcode(error, WeChatErrcode.RefreshTokenExpired, WeChatErrcode.InvalidRefreshToken)
        ? reauthorize('WeChat says the authorization has lapsed: log in again at /oauth/authorize.')
        : error;
    });
    await this.client.checkAccessToken(appId, token.access_token, identity.openid).catch((error: unknown) => {
      throw isWeChatErrcode(
        error,
        WeChatErrcode.InvalidOpenid,
        WeChatErrcode.InvalidCredential,
        WeChatErrcode.AccessTokenExpired,
      )
        ? reauthorize('WeChat no longer accepts this authorization: log in again at /oauth/authorize.')
        : error;
    });
    if (!grants(token, 'snsapi_userinfo')) {
      throw reauthorize('The profile needs a snsapi_userinfo authorization: log in at /oauth/authorize.');
    }
    const info = await this.client.userInfo(appId, token.access_token, identity.openid).catch((error: unknown) => {
      throw isWeChatErrcode(error, WeChatErrcode.ApiUnauthorized)
        ? reauthorize('The profile needs a snsapi_userinfo authorization: log in at /oauth/authorize.')
        : error;
    });
    // The refreshed identity (sealed refresh_token, profile) and the user's nickname and avatar, in one statement.
    const refreshed = this.webIdentity(appId, { ...token, openid: identity.openid }, info, null);
    const link = await this.identities.linkOrCreate(refreshed.identity, { userProfile: refreshed.userProfile });
    this.logLink(identity.openid, link);
    return this.identities.getMe(userId);
  }

  /** What `/` shows: the logged-in user's nickname and avatar, or null for a guest. */
  async homeView(sessionToken: string | null): Promise<HomeView | null> {
    const me = await this.identities.findMeBySessionToken(sessionToken);
    return me ? { nickname: me.nickname, avatarUrl: me.avatarUrl } : null;
  }

  /**
   * The identity (sealed refresh_token, profile) an OAuth answer describes, and the nickname and avatar to copy onto
   * its user. `refreshTokenExpiresAt` is null on a refresh, which keeps the stored one (refreshing does not extend it).
   */
  private webIdentity(
    appid: string,
    token: WebAccessToken,
    info: WebUserInfo | null,
    refreshTokenExpiresAt: Date | null,
  ): { identity: WeChatIdentity; userProfile?: UserProfileUpdate } {
    const unionid = info?.unionid ?? token.unionid ?? null;
    const profile: WeChatProfile | null = info
      ? {
          nickname: info.nickname,
          sex: info.sex,
          province: info.province,
          city: info.city,
          country: info.country,
          headimgurl: info.headimgurl,
          privilege: info.privilege,
          unionid: unionid ?? undefined,
        }
      : null;
    return {
      identity: {
        appid,
        openid: token.openid,
        source: 'official_account',
        unionid,
        profile,
        refreshTokenSealed: token.refresh_token ? this.sealer.seal(token.refresh_token) : null,
        refreshTokenExpiresAt,
      },
      userProfile: info ? { nickname: info.nickname, avatarUrl: info.headimgurl || null } : undefined,
    };
  }

  private logLink(openid: string, link: LinkResult, bindToUserId?: string | null): void {
    if (bindToUserId && link.userId !== bindToUserId) {
      // The openid already belongs to another user: log in as its owner rather than merge two accounts.
      this.logger.warn(`openid ${openid} already belongs to user ${link.userId}; not bound to the session user`);
    } else if (link.isNew) {
      this.logger.log(`New official-account user ${link.userId} (openid ${openid})`);
    }
  }

  private async consumeState(state: unknown, browserKey: unknown) {
    if (typeof state !== 'string' || !STATE_FORMAT.test(state)) {
      return null;
    }
    if (typeof browserKey !== 'string' || !BROWSER_KEY.test(browserKey)) {
      return null;
    }
    return this.states.consume(sha256Hex(state), sha256Hex(browserKey));
  }

  /** A code WeChat refuses is the user's problem (401 page); anything else goes up as it is. */
  private codeError(error: unknown): unknown {
    if (isWeChatErrcode(error, WeChatErrcode.InvalidCode, WeChatErrcode.CodeUsed, WeChatErrcode.OauthCodeExpired)) {
      return new AppException(401, 'invalid_code', 'WeChat did not accept the authorization code; authorize again.', {
        cause: error,
      });
    }
    return error;
  }

  private credentials(): { appId: string; secret: string } {
    const { appId, secret } = this.oa;
    if (!appId || !secret) {
      throw AppException.notConfigured(
        ...([!appId && 'WECHAT_OA_APPID', !secret && 'WECHAT_OA_SECRET'].filter(Boolean) as string[]),
      );
    }
    return { appId, secret };
  }
}

function isScope(value: unknown): value is OAuthScope {
  return OAUTH_SCOPES.includes(value as OAuthScope);
}

function grants(token: WebAccessToken, scope: OAuthScope): boolean {
  return (token.scope ?? '').split(',').includes(scope);
}
