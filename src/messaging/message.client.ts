import { Injectable } from '@nestjs/common';
import type { MessageKind } from 'src/messaging/dto/send-message';
import { AccessTokenHttpClient } from 'src/token/access-token-http.client';

const PATHS: Record<MessageKind, string> = {
  custom: '/cgi-bin/message/custom/send',
  template: '/cgi-bin/message/template/send',
  subscribe: '/cgi-bin/message/subscribe/send',
};

/** WeChat's send APIs for the three kinds; the body is already WeChat's JSON, the token comes from the facade. */
@Injectable()
export class MessageClient {
  constructor(private readonly http: AccessTokenHttpClient) {}

  /**
   * https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Service_Center_messages.html (custom),
   * https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Template_Message_Interface.html (template),
   * https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-message-management/subscribe-message/sendMessage.html
   * (subscribe). Answers WeChat's msgid when it gives one (template messages).
   */
  async send(kind: MessageKind, appid: string, payload: Record<string, unknown>): Promise<{ msgid?: string }> {
    const answer = await this.http.post<{ msgid?: number | string }>(appid, PATHS[kind], payload);
    return answer.msgid === undefined ? {} : { msgid: String(answer.msgid) };
  }
}
