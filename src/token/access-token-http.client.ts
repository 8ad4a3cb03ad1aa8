import { Injectable, Logger } from '@nestjs/common';
import { sha256Hex } from 'src/common/sealing/secret-sealer';
import { TokenService } from 'src/token/token.service';
import { WeChatApiError } from 'src/wechat/http/wechat-api.error';
import { STALE_TOKEN_ERRCODES } from 'src/wechat/http/wechat-errcode';
import { WeChatHttpClient, WeChatRequest } from 'src/wechat/http/wechat-http.client';

type Query = WeChatRequest['query'];

/**
 * The one way to call a WeChat API that takes an appid's access_token: it adds the shared token to the query and,
 * when WeChat says the token is stale (STALE_TOKEN_ERRCODES), drops it — only if it is still the stored one — and
 * retries once with a token that is not the rejected one (concurrent callers share the one fetch of it). Clients
 * pass the appid, never a token.
 */
@Injectable()
export class AccessTokenHttpClient {
  private readonly logger = new Logger(AccessTokenHttpClient.name);

  constructor(
    private readonly tokens: TokenService,
    private readonly http: WeChatHttpClient,
  ) {}

  get<T extends object>(appid: string, path: string, query?: Query): Promise<T> {
    return this.request<T>(appid, { method: 'GET', path, query });
  }

  post<T extends object>(appid: string, path: string, body: unknown, query?: Query): Promise<T> {
    return this.request<T>(appid, { method: 'POST', path, body, query });
  }

  private async request<T extends object>(appid: string, request: Omit<WeChatRequest, 'appid'>): Promise<T> {
    const first = await this.tokens.getAccessToken(appid);
    try {
      return await this.send<T>(appid, request, first.accessToken);
    } catch (error) {
      if (!(error instanceof WeChatApiError) || error.errcode === null || !STALE_TOKEN_ERRCODES.has(error.errcode)) {
        throw error;
      }
      this.logger.warn(`WeChat rejected the access token of ${appid} (errcode ${error.errcode}); fetching a new one`);
      await this.tokens.onTokenRejected(appid, first.accessToken);
      // Never the token just rejected: a read that began before the expiry may still hold it.
      const second = await this.tokens.getAccessToken(appid, { notHash: sha256Hex(first.accessToken) });
      return this.send<T>(appid, request, second.accessToken);
    }
  }

  private send<T extends object>(appid: string, request: Omit<WeChatRequest, 'appid'>, token: string): Promise<T> {
    return this.http.request<T>({ ...request, query: { ...request.query, access_token: token }, appid });
  }
}
