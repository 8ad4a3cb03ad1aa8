import { Injectable } from '@nestjs/common';
import { WeChatHttpClient } from 'src/wechat/http/wechat-http.client';
import type { WeChatProfile } from 'src/identity/identity.types';

export type OAuthScope = 'snsapi_base' | 'snsapi_userinfo';

export const OAUTH_SCOPES: readonly OAuthScope[] = ['snsapi_base', 'snsapi_userinfo'];

/** The web authorization token answer (code exchange and refresh share the shape). */
export interface WebAccessToken {
  access_token: string;
  expires_in: number;
  refresh_token: string;
  openid: string;
  /** Granted scopes, comma-separated. */
  scope: string;
  /** 1 for a visitor of the snapshot page (快照页): a virtual account. */
  is_snapshotuser?: number;
  unionid?: string;
}

/** `/sns/userinfo`: the profile fields we keep, plus the openid. */
export interface WebUserInfo extends WeChatProfile {
  openid: string;
}

/**
 * WeChat's web authorization API (网页授权), one method per call.
 * https://developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/Wechat_webpage_authorization.html
 *
 * `/sns/userinfo` and `/sns/auth` take the *web* access_token of one user's authorization (from the code exchange
 * or a refresh), not the appid's shared access_token, so they go straight to WeChatHttpClient and not through
 * TokenModule's AccessTokenHttpClient: that token is never stored, shared or refreshed on a stale-token answer.
 */
@Injectable()
export class WeChatOAuthClient {
  constructor(private readonly http: WeChatHttpClient) {}

  /** 第二步：通过 code 换取网页授权 access_token */
  exchangeCode(appid: string, secret: string, code: string): Promise<WebAccessToken> {
    return this.http.get<WebAccessToken>(
      '/sns/oauth2/access_token',
      { appid, secret, code, grant_type: 'authorization_code' },
      appid,
    );
  }

  /** 第三步：刷新 access_token（如果需要） */
  refresh(appid: string, refreshToken: string): Promise<WebAccessToken> {
    return this.http.get<WebAccessToken>(
      '/sns/oauth2/refresh_token',
      { appid, grant_type: 'refresh_token', refresh_token: refreshToken },
      appid,
    );
  }

  /** 第四步：拉取用户信息（需 scope 为 snsapi_userinfo） */
  userInfo(appid: string, webAccessToken: string, openid: string): Promise<WebUserInfo> {
    return this.http.get<WebUserInfo>('/sns/userinfo', { access_token: webAccessToken, openid, lang: 'zh_CN' }, appid);
  }

  /** 附：检验授权凭证（access_token）是否有效 — resolves when WeChat answers errcode 0. */
  async checkAccessToken(appid: string, webAccessToken: string, openid: string): Promise<void> {
    await this.http.get<{ errcode: number }>('/sns/auth', { access_token: webAccessToken, openid }, appid);
  }
}
