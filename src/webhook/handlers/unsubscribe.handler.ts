import { Injectable, Logger } from '@nestjs/common';
import { IdentityService } from 'src/identity/identity.service';
import { MessageHandler, NextHandler, WebhookContext, WebhookStep } from 'src/webhook/handlers/message-handler';
import type { InboundMessage, UnsubscribeEvent } from 'src/wechat/messages/inbound-message';

/** A follower left: marked unsubscribed. Nothing is said (WeChat would not deliver it). */
@Injectable()
@WebhookStep({ order: 200, mutates: true })
export class UnsubscribeHandler implements MessageHandler<UnsubscribeEvent> {
  private readonly logger = new Logger(UnsubscribeHandler.name);

  constructor(private readonly identities: IdentityService) {}

  accepts(message: InboundMessage): message is UnsubscribeEvent {
    return message.kind === 'event' && message.event === 'unsubscribe';
  }

  async handle(message: UnsubscribeEvent, _next: NextHandler, { account }: WebhookContext): Promise<null> {
    const known = account.appid
      ? await this.identities.setSubscribed(account.appid, message.fromUserName, false)
      : false;
    this.logger.log(`Follower ${message.fromUserName} left${known ? '' : ' (not known here)'}`);
    return null;
  }
}
