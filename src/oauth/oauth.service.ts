import { Injectable, Logger } from '@nestjs/common';
import { requireFields } from 'src/accounts/account';
import { AccountRegistry } from 'src/accounts/account.registry';
import { ACCOUNT_RULES } from 'src/accounts/account-rules';
import { ConfigService } from '@nestjs/config';
import { randomBytes } from 'node:crypto';
import { AppException } from 'src/common/errors/app-exception';
import { SecretSealer, sha256Hex } from 'src/common/sealing/secret-sealer';
import type { Configuration } from 'src/config/configuration';
import { MeDto } from 'src/identity/dto/me.dto';
import { IdentityService } from 'src/identity/identity.service';
import type { IssuedSession, UserProfileUpdate, WeChatIdentity, WeChatProfile } from 'src/identity/identity.types';
import { SessionService } from 'src/identity/session.service';
import { OAuthStateRepository, PendingAuthorization } from 'src/oauth/oauth-state.repository';
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

/** Where 重新授权 leads: the same authorization again (same scope, landing page, account and intent). */
function retryUrl(pending: Pick<PendingAuthorization, 'scope' | 'returnTo' | 'appid' | 'bindUserId'>): string {
  return (
    `/oauth/authorize?scope=${pending.scope}&returnTo=${encodeURIComponent(pending.returnTo)}` +
    (pending.appid ? `&appid=${pending.appid}` : '') +
    (pending.bindUserId ? '&bind=1' : '')
  );
}

/** `?appid=`: left out → the default official account (undefined); a well-formed AppID; anything else → 400. */
function parseAppid(value: unknown): string | undefined {
  if (value === undefined) {
    return undefined;
  }
  if (typeof value !== 'string' || !ACCOUNT_RULES.appid.pattern.test(value)) {
    throw AppException.badRequest(`appid ${ACCOUNT_RULES.appid.message}`);
  }
  return value;
}

/** `?bind=1` asks to bind; left out (or `0`) is a plain login. */
function parseBind(value: unknown): boolean {
  if (value === undefined || value === '0') {
    return false;
  }
  if (value !== '1') {
    throw AppException.badRequest('bind must be 1 (bind to the logged-in user) or left out');
  }
  return true;
}

/**
 * Web authorization in the WeChat browser: authorize URL, callback, profile refresh, for any official account (the
 * state remembers which). WeChat failures this service does not turn into a page or a `reauthorize` go up to the
 * shared error body.
 */
@Injectable()
export class OAuthService {
  private readonly logger = new Logger(OAuthService.name);
  private readonly openBase: string;
  private readonly callbackUrl: string;

  constructor(
    private readonly client: WeChatOAuthClient,
    private readonly states: OAuthStateRepository,
    private readonly identities: IdentityService,
    private readonly sessions: SessionService,
    private readonly sealer: SecretSealer,
    private readonly accounts: AccountRegistry,
    config: ConfigService<Configuration, true>,
  ) {
    this.openBase = config.get('wechat', { infer: true }).openBase;
    this.callbackUrl = `${config.get('app', { infer: true }).publicBaseUrl}/oauth/callback`;
  }

  /**
   * Records a single-use state bound to this browser, for the official account `appid` (the default one when left
   * out) and, with `bind=1`, for binding the identity to the user of the browser's live session; builds WeChat's
   * authorize URL.
   */
  async authorize(input: {
    scope?: unknown;
    returnTo?: unknown;
    browserKey?: unknown;
    appid?: unknown;
    bind?: unknown;
    sessionToken?: string | null;
    /** The browser says the navigation came from another site (`Sec-Fetch-Site: cross-site`). */
    crossSite?: boolean;
  }): Promise<AuthorizeResult> {
    const scope = input.scope ?? DEFAULT_SCOPE;
    if (!isScope(scope)) {
      throw new AppException(400, 'bad_request', 'scope must be snsapi_base or snsapi_userinfo');
    }
    const appidAsked = parseAppid(input.appid);
    const bind = parseBind(input.bind);
    const { appid } = requireFields(this.accounts.officialAccount(appidAsked), 'appid', 'secret');
    let bindUserId: string | null = null;
    if (bind) {
      if (input.crossSite) {
        // A link on another site must not bind the visitor's WeChat to whatever session their browser holds.
        throw new AppException(403, 'forbidden', 'A binding can only be started from a page of this site.');
      }
      const live = input.sessionToken ? await this.sessions.authenticate(input.sessionToken) : null;
      if (!live) {
        throw AppException.unauthorized('Binding a WeChat account needs a live session: log in first.');
      }
      bindUserId = live.userId;
    }
    const browserKey =
      typeof input.browserKey === 'string' && BROWSER_KEY.test(input.browserKey)
        ? input.browserKey
        : randomBytes(32).toString('base64url');
    const state = randomBytes(24).toString('hex');
    await this.states.create(
      sha256Hex(state),
      sha256Hex(browserKey),
      { scope, returnTo: safeReturnTo(input.returnTo), appid: appidAsked ?? null, bindUserId },
      STATE_TTL_SECONDS,
    );
    // Parameter order and #wechat_redirect as WeChat's documentation requires.
    const location =
      `${this.openBase}/connect/oauth2/authorize?appid=${appid}` +
      `&redirect_uri=${encodeURIComponent(this.callbackUrl)}&response_type=code&scope=${scope}` +
      `&state=${state}#wechat_redirect`;
    return { location, browserKey };
  }

  /**
   * WeChat's redirect back, for the account the state remembers. The state is consumed first, in one statement, so
   * a reload or a concurrent second hit of the same URL finds nothing and creates nothing. A plain login logs the
   * browser in as the identity's own user and ends the session it held; a binding joins the identity to the user
   * who asked, or changes nothing (409) when it belongs to another user with other identities.
   */
  async callback(input: {
    code?: unknown;
    state?: unknown;
    browserKey?: unknown;
    sessionToken: string | null;
  }): Promise<CallbackOutcome> {
    const code = typeof input.code === 'string' && input.code.length > 0 ? input.code : null;
    const pending = await this.consumeState(input.state, input.browserKey);
    if (!code) {
      // The user tapped 拒绝: WeChat comes back with the state and no code.
      return {
        kind: 'refused',
        retryUrl: retryUrl(pending ?? { scope: DEFAULT_SCOPE, returnTo: '/', appid: null, bindUserId: null }),
      };
    }
    if (!pending) {
      throw invalidState('This login link is unknown, already used, expired, or was started in another browser.');
    }
    const account = this.accounts.officialAccount(pending.appid ?? undefined);
    const { appid, secret } = requireFields(account, 'appid', 'secret');
    const token = await this.client.exchangeCode(appid, secret, code).catch((error: unknown) => {
      throw this.codeError(error);
    });
    if (typeof token.openid !== 'string' || typeof token.access_token !== 'string') {
      throw new AppException(502, 'wechat_unavailable', 'WeChat answered the code exchange without an openid.');
    }
    if (token.is_snapshotuser === 1) {
      // A virtual account of the snapshot page: its openid and profile are not the visitor's.
      return { kind: 'snapshot', retryUrl: retryUrl(pending) };
    }
    const info =
      pending.scope === 'snsapi_userinfo' && grants(token, 'snsapi_userinfo')
        ? await this.client.userInfo(appid, token.access_token, token.openid)
        : null;
    // The identity, the user's profile and the new session are written together.
    const { identity, userProfile } = this.webIdentity(appid, token, info, new Date(Date.now() + REFRESH_TOKEN_TTL_MS));
    const session = pending.bindUserId
      ? await this.bind(identity, pending.bindUserId, userProfile)
      : await this.login(identity, userProfile);
    // Whatever session the browser held is replaced by the new one.
    await this.sessions.revokeReplaced(input.sessionToken);
    return { kind: 'login', returnTo: pending.returnTo, session };
  }

  /**
   * Refreshes the user's WeChat profile with the kept refresh_token, without a new authorization:
   * refresh_token → access_token, /sns/auth, /sns/userinfo. The authorization used is the user's latest one of an
   * official account configured here (with several accounts, the one last logged in through). 409 `reauthorize`
   * once that is no longer possible.
   */
  async sync(userId: string): Promise<MeDto> {
    const kept = (await this.identities.webAuthorizationsOf(userId)).find(
      (authorization) => this.accounts.find(authorization.appid)?.kind === 'official_account',
    );
    if (!kept) {
      throw reauthorize('No WeChat web authorization is kept for this user: log in again at /oauth/authorize.');
    }
    const { appid } = requireFields(this.accounts.officialAccount(kept.appid), 'appid', 'secret');
    const { openid } = kept;
    if (kept.expiresAt && kept.expiresAt.getTime() <= Date.now()) {
      throw reauthorize('The WeChat authorization has lapsed (30 days): log in again at /oauth/authorize.');
    }
    let refreshToken: string;
    try {
      refreshToken = this.sealer.open(kept.sealed);
    } catch (cause) {
      this.logger.error(`Kept refresh_token of openid ${openid} cannot be opened: ${String(cause)}`);
      throw reauthorize('The kept WeChat authorization is unreadable: log in again at /oauth/authorize.');
    }
    const token = await this.client.refresh(appid, refreshToken).catch((error: unknown) => {
      throw isWeChatErrcode(error, WeChatErrcode.RefreshTokenExpired, WeChatErrcode.InvalidRefreshToken)
        ? reauthorize('WeChat says the authorization has lapsed: log in again at /oauth/authorize.')
        : error;
    });
    await this.client.checkAccessToken(appid, token.access_token, openid).catch((error: unknown) => {
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
    const info = await this.client.userInfo(appid, token.access_token, openid).catch((error: unknown) => {
      throw isWeChatErrcode(error, WeChatErrcode.ApiUnauthorized)
        ? reauthorize('The profile needs a snsapi_userinfo authorization: log in at /oauth/authorize.')
        : error;
    });
    // The refreshed identity (sealed refresh_token, profile) and the user's nickname and avatar, in one statement.
    const refreshed = this.webIdentity(appid, { ...token, openid }, info, null);
    const link = await this.identities.linkOrCreate(refreshed.identity, { userProfile: refreshed.userProfile });
    if (link.isNew) {
      this.logger.log(`New official-account user ${link.userId} (openid ${openid})`);
    }
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

  /** A plain login: the identity's own user (a new one on a first login), never the browser's session user. */
  private async login(identity: WeChatIdentity, userProfile?: UserProfileUpdate): Promise<IssuedSession> {
    const login = await this.identities.login(identity, { userProfile });
    if (login.isNew) {
      this.logger.log(`New official-account user ${login.userId} (openid ${identity.openid})`);
    }
    return login.session;
  }

  /** A binding asked for by `userId`: their new session, or the 409 page when the identity is someone else's. */
  private async bind(
    identity: WeChatIdentity,
    userId: string,
    userProfile?: UserProfileUpdate,
  ): Promise<IssuedSession> {
    const result = await this.identities.bind(identity, userId, { userProfile });
    if (!result.bound) {
      this.logger.warn(
        `openid ${identity.openid} not bound to user ${userId}: its ${result.conflict === 'unionid_taken' ? 'unionid' : 'identity'} belongs to user ${result.ownerId}`,
      );
      throw new AppException(
        409,
        'conflict',
        'This WeChat account already belongs to another user of this service; nothing was changed.',
      );
    }
    if (result.movedFromUserId) {
      this.logger.log(
        `openid ${identity.openid} moved from user ${result.movedFromUserId} (no other identity) to ${userId}`,
      );
    } else {
      this.logger.log(`openid ${identity.openid} bound to user ${userId}`);
    }
    return result.session;
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
}

function isScope(value: unknown): value is OAuthScope {
  return OAUTH_SCOPES.includes(value as OAuthScope);
}

function grants(token: WebAccessToken, scope: OAuthScope): boolean {
  return (token.scope ?? '').split(',').includes(scope);
}
