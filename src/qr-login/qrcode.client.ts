import { Injectable } from '@nestjs/common';
import { AccessTokenHttpClient } from 'src/token/access-token-http.client';

/** WeChat's answer to a temporary QR code request. */
export interface CreatedQrCode {
  ticket: string;
  /** Seconds the code lives, as WeChat grants them. */
  expire_seconds?: number;
  /** The content of the QR code: `http://weixin.qq.com/q/…`. */
  url: string;
}

/** The parametric QR code API (生成带参数的二维码) of an official account, with its shared access token. */
@Injectable()
export class QrCodeClient {
  constructor(private readonly api: AccessTokenHttpClient) {}

  /** https://developers.weixin.qq.com/doc/service/api/qrcode/qrcodes/api_createqrcode */
  createTemporary(appid: string, sceneStr: string, expireSeconds: number): Promise<CreatedQrCode> {
    return this.api.post<CreatedQrCode>(appid, '/cgi-bin/qrcode/create', {
      expire_seconds: expireSeconds,
      action_name: 'QR_STR_SCENE',
      action_info: { scene: { scene_str: sceneStr } },
    });
  }
}
