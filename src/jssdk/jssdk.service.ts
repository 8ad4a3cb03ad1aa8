import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { randomBytes } from 'node:crypto';
import { AppException } from 'src/common/errors/app-exception';
import type { Configuration } from 'src/config/configuration';
import { JssdkConfigDto } from 'src/jssdk/dto/jssdk-config.dto';
import { accessControlAllowOrigin, pageUrlToSign } from 'src/jssdk/page-url';
import { TicketService } from 'src/token/ticket.service';
import { jssdkSignature } from 'src/wechat/crypto/jssdk-signature';

/** `wx.config` for H5 pages: the page URL checked against JSSDK_ALLOWED_HOSTS, signed with the account's ticket. */
@Injectable()
export class JssdkService {
  private readonly allowedHosts: readonly string[];

  constructor(
    private readonly tickets: TicketService,
    config: ConfigService<Configuration, true>,
  ) {
    this.allowedHosts = config.get('app', { infer: true }).jssdkAllowedHosts;
  }

  /** The signed config for the page `url` of the official account `appid` (the default one when left out). */
  async config(url: unknown, appid: unknown): Promise<JssdkConfigDto> {
    const page = pageUrlToSign(url, this.allowedHosts);
    if (appid !== undefined && typeof appid !== 'string') {
      throw AppException.badRequest('appid must be given once.');
    }
    const { appid: appId, ticket } = await this.tickets.getTicket(appid === '' ? undefined : appid);
    const timestamp = Math.floor(Date.now() / 1000);
    // Letters and digits only: the signed string joins the fields with `&` and `=`.
    const nonceStr = randomBytes(8).toString('hex');
    return {
      appId,
      timestamp,
      nonceStr,
      signature: jssdkSignature({ jsapiTicket: ticket, nonceStr, timestamp, url: page }),
    };
  }

  /** `Access-Control-Allow-Origin` for a request from `origin`, when it is a page on an allowed host. */
  allowOrigin(origin: unknown): string | undefined {
    return accessControlAllowOrigin(origin, this.allowedHosts);
  }
}
