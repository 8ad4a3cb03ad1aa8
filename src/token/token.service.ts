import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AppException } from 'src/common/errors/app-exception';
import { SecretSealer, sha256Hex } from 'src/common/sealing/secret-sealer';
import type { Configuration } from 'src/config/configuration';
import { Metrics } from 'src/metrics/metrics';
import { AccessTokenRepository, StoredAccessToken } from 'src/token/access-token.repository';
import { StableTokenClient } from 'src/token/stable-token.client';

export interface AccessTokenView {
  appid: string;
  accessToken: string;
  expiresAt: Date;
}

interface AppCredentials {
  appid: string;
  secret?: string;
  secretVariable: string;
}

interface CachedToken extends AccessTokenView {
  refreshAt: number;
  /** Until when this process may use its copy without looking at the database again. */
  trustUntil: number;
}

/** How long a process trusts its in-memory copy before re-reading the shared row (another instance may refresh). */
const MEMORY_TRUST_MS = 30_000;
/** WeChat's daily cap on force_refresh, and the least interval between two. */
const FORCE_REFRESH_PER_DAY = 20;
const FORCE_REFRESH_INTERVAL_MS = 30_000;

/** Refresh a margin before expiry: five minutes (WeChat issues the next token then), at most half the lifetime. */
export function refreshMarginSeconds(expiresIn: number): number {
  return Math.min(300, Math.floor(expiresIn / 2));
}

/**
 * Access tokens per appid, kept in PostgreSQL for every instance. Reads are served from a short-lived memory copy;
 * fetches happen under a PostgreSQL advisory lock, once across all instances, and in-process callers share one fetch.
 */
@Injectable()
export class TokenService {
  private readonly logger = new Logger(TokenService.name);
  private readonly apps = new Map<string, AppCredentials>();
  private readonly memory = new Map<string, CachedToken>();
  private readonly inflight = new Map<string, Promise<CachedToken>>();

  constructor(
    private readonly repository: AccessTokenRepository,
    private readonly client: StableTokenClient,
    private readonly sealer: SecretSealer,
    config: ConfigService<Configuration, true>,
    private readonly metrics: Metrics,
  ) {
    const { oa, mp } = config.get('wechat', { infer: true });
    if (oa.appId) {
      this.apps.set(oa.appId, { appid: oa.appId, secret: oa.secret, secretVariable: 'WECHAT_OA_SECRET' });
    }
    if (mp.appId) {
      this.apps.set(mp.appId, { appid: mp.appId, secret: mp.secret, secretVariable: 'WECHAT_MP_SECRET' });
    }
  }

  /** The current token of `appid`, fetched from WeChat only when the shared copy is due for refresh. */
  async getAccessToken(appid: string): Promise<AccessTokenView> {
    const credentials = this.credentials(appid);
    const now = Date.now();
    const cached = this.memory.get(appid);
    if (cached && cached.trustUntil > now && cached.refreshAt > now) {
      return this.view(cached);
    }
    let pending = this.inflight.get(appid);
    if (!pending) {
      pending = this.loadOrFetch(credentials).finally(() => this.inflight.delete(appid));
      this.inflight.set(appid, pending);
    }
    return this.view(await pending);
  }

  /**
   * Drops `accessToken` if it is still the current one (another instance may already have replaced it). Called by
   * AccessTokenHttpClient when WeChat rejects the token.
   */
  async onTokenRejected(appid: string, accessToken: string): Promise<void> {
    const hash = sha256Hex(accessToken);
    const cached = this.memory.get(appid);
    if (cached && sha256Hex(cached.accessToken) === hash) {
      this.memory.delete(appid);
    }
    const expired = await this.repository.expireIfCurrent(appid, hash);
    this.logger.log(`Access token of ${appid} ${expired ? 'expired' : 'was already replaced'} after a rejection`);
  }

  /** Admin only: WeChat's force_refresh (20 a day, 30 s apart), for a leaked token. */
  async forceRefresh(appid: string): Promise<AccessTokenView> {
    const credentials = this.credentials(appid);
    const fresh = await this.repository.withFetchLock(appid, async (manager) => {
      const stored = await this.repository.find(appid, manager);
      this.assertForceRefreshAllowed(stored);
      const token = await this.fetchFromWeChat(credentials, true);
      await this.repository.save({ appid, ...this.sealed(token) }, manager, true);
      return token;
    });
    this.memory.set(appid, fresh);
    this.logger.warn(`Access token of ${appid} was force-refreshed by an admin`);
    return this.view(fresh);
  }

  private async loadOrFetch(credentials: AppCredentials): Promise<CachedToken> {
    const { appid } = credentials;
    const stored = await this.repository.find(appid);
    let token = stored && this.fromStored(stored);
    if (!token) {
      token = await this.repository.withFetchLock(appid, async (manager) => {
        // Another instance may have fetched while we waited for the lock: use its token.
        const again = await this.repository.find(appid, manager);
        const current = again && this.fromStored(again);
        if (current) {
          return current;
        }
        const fetched = await this.fetchFromWeChat(credentials, false);
        await this.repository.save({ appid, ...this.sealed(fetched) }, manager);
        this.logger.log(`Fetched a new access token for ${appid}`);
        return fetched;
      });
    }
    this.memory.set(appid, token);
    return token;
  }

  /** A stored token still before its refresh time, or null. */
  private fromStored(stored: StoredAccessToken): CachedToken | null {
    const refreshAt = new Date(stored.refreshAt).getTime();
    if (refreshAt <= Date.now()) {
      return null;
    }
    return {
      appid: stored.appid,
      accessToken: this.sealer.open(stored.accessTokenSealed),
      expiresAt: new Date(stored.expiresAt),
      refreshAt,
      trustUntil: Date.now() + MEMORY_TRUST_MS,
    };
  }

  private async fetchFromWeChat(credentials: AppCredentials, force: boolean): Promise<CachedToken> {
    const result = await this.client.fetch(credentials.appid, credentials.secret!, force).then(
      (answer) => {
        this.metrics.tokenFetch(credentials.appid, force ? 'forced' : 'expired', 'ok');
        return answer;
      },
      (error: unknown) => {
        this.metrics.tokenFetch(credentials.appid, force ? 'forced' : 'expired', 'error');
        throw error;
      },
    );
    if (typeof result.access_token !== 'string' || !result.access_token || !(Number(result.expires_in) > 0)) {
      throw new AppException(502, 'wechat_unavailable', 'WeChat answered the token request without a token.');
    }
    const now = Date.now();
    const expiresIn = Number(result.expires_in);
    return {
      appid: credentials.appid,
      accessToken: result.access_token,
      expiresAt: new Date(now + expiresIn * 1000),
      refreshAt: now + (expiresIn - refreshMarginSeconds(expiresIn)) * 1000,
      trustUntil: now + MEMORY_TRUST_MS,
    };
  }

  private sealed(token: CachedToken) {
    return {
      accessTokenSealed: this.sealer.seal(token.accessToken),
      tokenHash: sha256Hex(token.accessToken),
      expiresAt: token.expiresAt,
      refreshAt: new Date(token.refreshAt),
    };
  }

  private assertForceRefreshAllowed(stored: StoredAccessToken | null): void {
    if (!stored) {
      return;
    }
    if (stored.forceRefreshesToday >= FORCE_REFRESH_PER_DAY) {
      throw new AppException(
        429,
        'too_many_requests',
        `WeChat allows ${FORCE_REFRESH_PER_DAY} forced refreshes a day and they are spent; try again tomorrow.`,
      );
    }
    const last = stored.lastForceRefreshAt ? new Date(stored.lastForceRefreshAt).getTime() : 0;
    if (Date.now() - last < FORCE_REFRESH_INTERVAL_MS) {
      throw new AppException(429, 'too_many_requests', 'WeChat needs 30 seconds between two forced refreshes.');
    }
  }

  private credentials(appid: string): AppCredentials {
    const credentials = this.apps.get(appid);
    if (!credentials) {
      throw AppException.notFound('Unknown appid: it is neither WECHAT_OA_APPID nor WECHAT_MP_APPID of this service.');
    }
    if (!credentials.secret) {
      throw AppException.notConfigured(credentials.secretVariable);
    }
    return credentials;
  }

  private view(token: CachedToken): AccessTokenView {
    return { appid: token.appid, accessToken: token.accessToken, expiresAt: token.expiresAt };
  }
}
