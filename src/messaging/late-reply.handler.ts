import { Injectable } from '@nestjs/common';
import { OutboxService } from 'src/messaging/outbox.service';
import { LateReplyHandler, WebhookContext, WebhookLateReply } from 'src/webhook/handlers/message-handler';
import { dedupeKey, InboundMessage } from 'src/wechat/messages/inbound-message';
import type { Reply } from 'src/wechat/messages/reply';

/**
 * A reply the webhook's pipeline produced after WeChat was answered `success`: sent as a customer-service message
 * through the outbox. Keyed by the inbound message, so a retried delivery that is late again sends nothing more.
 */
@Injectable()
@WebhookLateReply()
export class LateReplyToCustomMessage implements LateReplyHandler {
  constructor(private readonly outbox: OutboxService) {}

  async deliverLate(reply: Reply, message: InboundMessage, { account }: WebhookContext): Promise<void> {
    if (!account.appid) {
      return;
    }
    await this.outbox.enqueueReply(
      account.appid,
      message.fromUserName,
      reply,
      'late_reply',
      `late:${message.toUserName}:${dedupeKey(message)}`,
    );
  }
}
