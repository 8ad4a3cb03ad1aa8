import { Injectable, Logger } from '@nestjs/common';
import { IdentityService } from 'src/identity/identity.service';
import { MessageHandler, NextHandler, WebhookContext, WebhookStep } from 'src/webhook/handlers/message-handler';
import { InboundMessageRepository } from 'src/webhook/inbound-message.repository';
import type { InboundMessage, SubscribeEvent } from 'src/wechat/messages/inbound-message';
import type { Reply } from 'src/wechat/messages/reply';

/**
 * A new follower: kept as a subscribed identity of the account, greeted with the account's welcome text.
 *
 * Idempotent: the identity is an upsert on (appid, openid) that sets `subscribed = true`, so running it again (a
 * takeover after a crash, the spool's replay) changes nothing more. Order-safe: when a later subscribe or
 * unsubscribe of the same follower is already recorded, that one decides and this one writes nothing.
 */
@Injectable()
@WebhookStep({ order: 100, mutates: true })
export class SubscribeHandler implements MessageHandler<SubscribeEvent> {
  private readonly logger = new Logger(SubscribeHandler.name);

  constructor(
    private readonly identities: IdentityService,
    private readonly messages: InboundMessageRepository,
  ) {}

  accepts(message: InboundMessage): message is SubscribeEvent {
    return message.kind === 'event' && message.event === 'subscribe';
  }

  async handle(message: SubscribeEvent, _next: NextHandler, { account }: WebhookContext): Promise<Reply> {
    if (await this.messages.hasNewerFollowEvent(message)) {
      this.logger.log(`Follower ${message.fromUserName} subscribed, but a later event is recorded: it decides`);
    } else if (account.appid) {
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
