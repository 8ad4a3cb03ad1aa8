import { Injectable } from '@nestjs/common';
import { FollowerActivityRepository } from 'src/messaging/follower-activity.repository';
import { MessageHandler, NextHandler, WebhookContext, WebhookStep } from 'src/webhook/handlers/message-handler';
import type { InboundMessage } from 'src/wechat/messages/inbound-message';
import type { Reply } from 'src/wechat/messages/reply';

/** Events WeChat sends on its own (a job finished, the user left): not the user interacting. */
const NOT_INTERACTIONS = new Set(['unsubscribe', 'TEMPLATESENDJOBFINISH', 'MASSSENDJOBFINISH']);

/**
 * Notes each follower's last message or event (the 48-hour customer-service window) and passes on; it writes in
 * the background and changes no reply, so retries running it again only touch the same row.
 */
@Injectable()
@WebhookStep({ order: 5, mutates: false })
export class FollowerActivityStep implements MessageHandler {
  constructor(private readonly activity: FollowerActivityRepository) {}

  handle(message: InboundMessage, next: NextHandler, { account }: WebhookContext): Promise<Reply | null> {
    if (account.appid && !('event' in message && message.event !== undefined && NOT_INTERACTIONS.has(message.event))) {
      this.activity.touch(account.appid, message.fromUserName);
    }
    return next();
  }
}
