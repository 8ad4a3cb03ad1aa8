import { Injectable } from '@nestjs/common';
import { WeChatHttpClient } from 'src/wechat/http/wechat-http.client';

export interface StableTokenResult {
  access_token: string;
  expires_in: number;
}

@Injectable()
export class StableTokenClient {
  constructor(private readonly http: WeChatHttpClient) {}

  /** https://developers.weixin.qq.com/doc/service/api/base/api_getstableaccesstoken */
  fetch(appid: string, secret: string, forceRefresh: boolean): Promise<StableTokenResult> {
    return this.http.post<StableTokenResult>(
      '/cgi-bin/stable_token',
      { grant_type: 'client_credential', appid, secret, force_refresh: forceRefresh },
      undefined,
      appid,
    );
  }
}
