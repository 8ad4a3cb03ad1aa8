import { Injectable } from '@nestjs/common';
import { AccessTokenHttpClient } from 'src/token/access-token-http.client';

export interface TicketResult {
  ticket: string;
  expires_in: number;
}

@Injectable()
export class TicketClient {
  constructor(private readonly http: AccessTokenHttpClient) {}

  /** https://developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/JS-SDK.html (附录1: jsapi_ticket) */
  getTicket(appid: string, type: 'jsapi'): Promise<TicketResult> {
    return this.http.get<TicketResult>(appid, '/cgi-bin/ticket/getticket', { type });
  }
}
