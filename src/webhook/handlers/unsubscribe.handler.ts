import { Injectable, Logger } from '@nestjs/common';
import { IdentityService } from 'src/identity/identity.service';
import { MessageHandler, NextHandler, WebhookContext, WebhookStep } from 'src/webhook/handlers/message-handler';
import { InboundMessageRepository } from 'src/webhook/inbound-message.repository';
import type { InboundMessage, UnsubscribeEvent } from 'src/wechat/messages/inbound-message';

/**
 * A follower left: marked unsubscribed. Nothing is said (WeChat would not deliver it).
 *
 * Idempotent: an UPDATE setting `subscribed = false`, the same however often it runs. Order-safe as the subscribe
 * step: a later recorded subscribe or unsubscribe of the follower decides.
 */
@Injectable()
@WebhookStep({ order: 200, mutates: true })
export class UnsubscribeHandler implements MessageHandler<UnsubscribeEvent> {
  private readonly logger = new Logger(UnsubscribeHandler.name);

  constructor(
    private readonly identities: IdentityService,
    private readonly messages: InboundMessageRepository,
  ) {}

  accepts(message: InboundMessage): message is UnsubscribeEvent {
    return message.kind === 'event' && message.event === 'unsubscribe';
  }

  async handle(message: UnsubscribeEvent, _next: NextHandler, { account }: WebhookContext): Promise<null> {
    if (await this.messages.hasNewerFollowEvent(message)) {
      this.logger.log(`Follower ${message.fromUserName} left, but a later event is recorded: it decides`);
      return null;
    }
    const known = account.appid
      ? await this.identities.setSubscribed(account.appid, message.fromUserName, false)
      : false;
    this.logger.log(`Follower ${message.fromUserName} left${known ? '' : ' (not known here)'}`);
    return null;
  }
}
