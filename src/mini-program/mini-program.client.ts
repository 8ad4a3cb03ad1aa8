import { Injectable } from '@nestjs/common';
import { AccessTokenHttpClient } from 'src/token/access-token-http.client';
import { WeChatApiError } from 'src/wechat/http/wechat-api.error';
import { WeChatHttpClient } from 'src/wechat/http/wechat-http.client';

export interface Code2SessionResult {
  openid: string;
  session_key: string;
  unionid?: string;
}

export interface PhoneInfo {
  phoneNumber: string;
  purePhoneNumber: string;
  countryCode: string | number;
  watermark?: { appid?: string; timestamp?: number };
}

@Injectable()
export class MiniProgramClient {
  constructor(
    private readonly http: WeChatHttpClient,
    private readonly api: AccessTokenHttpClient,
  ) {}

  /** https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-login/code2Session.html */
  code2Session(appid: string, secret: string, code: string): Promise<Code2SessionResult> {
    return this.http.get<Code2SessionResult>(
      '/sns/jscode2session',
      { appid, secret, js_code: code, grant_type: 'authorization_code' },
      appid,
    );
  }

  /** https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-info/phone-number/getPhoneNumber.html */
  async getPhoneNumber(appid: string, code: string): Promise<PhoneInfo> {
    const result = await this.api.post<{ phone_info?: PhoneInfo }>(appid, '/wxa/business/getuserphonenumber', { code });
    if (!result.phone_info) {
      throw new WeChatApiError('/wxa/business/getuserphonenumber', null, 'answer without phone_info');
    }
    return result.phone_info;
  }
}
