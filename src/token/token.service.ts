import { Injectable, Logger } from '@nestjs/common';
import { requireFields } from 'src/accounts/account';
import { AccountRegistry } from 'src/accounts/account.registry';
import { AppException } from 'src/common/errors/app-exception';
import type { StoredAccessToken } from 'src/token/access-token.repository';
import { Credential, CredentialStore, GetOptions } from 'src/token/credential-store';
import { StableTokenClient } from 'src/token/stable-token.client';

export interface AccessTokenView {
  appid: string;
  accessToken: string;
  expiresAt: Date;
}

/** WeChat's daily cap on force_refresh, and the least interval between two. */
const FORCE_REFRESH_PER_DAY = 20;
const FORCE_REFRESH_INTERVAL_MS = 30_000;

const view = (credential: Credential): AccessTokenView => ({
  appid: credential.appid,
  accessToken: credential.value,
  expiresAt: credential.expiresAt,
});

/**
 * The access token of every account of the registry (env and API accounts alike), kept by the CredentialStore:
 * shared in PostgreSQL, fetched once across instances from `/cgi-bin/stable_token` in its normal mode, and announced
 * to every instance when replaced or dropped.
 */
@Injectable()
export class TokenService {
  private readonly logger = new Logger(TokenService.name);

  constructor(
    private readonly store: CredentialStore,
    private readonly client: StableTokenClient,
    private readonly registry: AccountRegistry,
  ) {}

  /**
   * The current token of `appid`, fetched from WeChat only when the shared copy is due for refresh. With `notHash`
   * (the SHA-256 of a token WeChat just rejected), never that token: it is replaced if it is still the stored one.
   */
  async getAccessToken(appid: string, options?: GetOptions): Promise<AccessTokenView> {
    const secret = this.secretOf(appid);
    return view(await this.store.get('access_token', appid, () => this.fetch(appid, secret, false), options));
  }

  /**
   * Drops `accessToken` if it is still the current one (another instance may already have replaced it). Called by
   * AccessTokenHttpClient when WeChat rejects the token.
   */
  async onTokenRejected(appid: string, accessToken: string): Promise<void> {
    const expired = await this.store.reject('access_token', appid, accessToken);
    this.logger.log(`Access token of ${appid} ${expired ? 'expired' : 'was already replaced'} after a rejection`);
  }

  /** Admin only: WeChat's force_refresh (20 a day, 30 s apart), for a leaked token. */
  async forceRefresh(appid: string): Promise<AccessTokenView> {
    const secret = this.secretOf(appid);
    const fresh = await this.store.replace(
      'access_token',
      appid,
      (stored) => {
        this.assertForceRefreshAllowed(stored);
        return this.fetch(appid, secret, true);
      },
      true,
    );
    this.logger.warn(`Access token of ${appid} was force-refreshed by an admin`);
    return view(fresh);
  }

  private async fetch(appid: string, secret: string, force: boolean) {
    const result = await this.client.fetch(appid, secret, force);
    return { value: result.access_token, expiresIn: Number(result.expires_in) };
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

  /** The account's secret: 404 for an appid this deployment does not have, 503 naming what to set when it has none. */
  private secretOf(appid: string): string {
    const account = this.registry.find(appid);
    if (!account) {
      throw AppException.notFound(`No official account or mini-program with appid ${appid} is configured here.`);
    }
    return account.secret ?? requireFields(account, 'secret').secret;
  }
}
