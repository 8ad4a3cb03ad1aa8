import { Injectable } from '@nestjs/common';
import { AutoReplyService } from 'src/webhook/auto-reply.service';
import { MessageHandler, NextHandler, WebhookContext, WebhookStep } from 'src/webhook/handlers/message-handler';
import type { InboundMessage } from 'src/wechat/messages/inbound-message';
import type { Reply } from 'src/wechat/messages/reply';

/** Answers by the account's rules in /admin/auto-replies: keywords in text (and recognised voice), menu CLICK keys. */
@Injectable()
@WebhookStep({ order: 900, mutates: false })
export class AutoReplyHandler implements MessageHandler {
  constructor(private readonly rules: AutoReplyService) {}

  async handle(message: InboundMessage, next: NextHandler, { account }: WebhookContext): Promise<Reply | null> {
    let reply: Reply | null = null;
    if (message.kind === 'message' && message.msgType === 'text') {
      reply = await this.rules.matchText(account, message.content);
    } else if (message.kind === 'message' && message.msgType === 'voice' && message.recognition) {
      reply = await this.rules.matchText(account, message.recognition);
    } else if (message.kind === 'event' && message.event === 'CLICK') {
      reply = await this.rules.matchEvent(account, 'CLICK', message.eventKey);
    }
    return reply ?? next();
  }
}
