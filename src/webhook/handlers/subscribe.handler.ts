import { Injectable, Logger } from '@nestjs/common';
import { IdentityService } from 'src/identity/identity.service';
import { MessageHandler, NextHandler, WebhookContext, WebhookStep } from 'src/webhook/handlers/message-handler';
import type { InboundMessage, SubscribeEvent } from 'src/wechat/messages/inbound-message';
import type { Reply } from 'src/wechat/messages/reply';

/** A new follower: kept as a subscribed identity of the account, greeted with the account's welcome text. */
@Injectable()
@WebhookStep({ order: 100, mutates: true })
export class SubscribeHandler implements MessageHandler<SubscribeEvent> {
  private readonly logger = new Logger(SubscribeHandler.name);

  constructor(private readonly identities: IdentityService) {}

  accepts(message: InboundMessage): message is SubscribeEvent {
    return message.kind === 'event' && message.event === 'subscribe';
  }

  async handle(message: SubscribeEvent, _next: NextHandler, { account }: WebhookContext): Promise<Reply> {
    if (account.appid) {
      await this.identities.linkOrCreate({
        appid: account.appid,
        openid: message.fromUserName,
        source: 'official_account',
        subscribed: true,
      });
    } else {
      this.logger.warn('WECHAT_OA_APPID is unset: the new follower is greeted but not recorded');
    }
    this.logger.log(`New follower ${message.fromUserName}${message.scene ? ` (scene ${message.scene})` : ''}`);
    return { type: 'text', content: account.welcomeText };
  }
}
