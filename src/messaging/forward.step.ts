import { Injectable } from '@nestjs/common';
import { ForwardingService } from 'src/messaging/forwarding.service';
import { MessageHandler, NextHandler, WebhookContext, WebhookStep } from 'src/webhook/handlers/message-handler';
import type { InboundMessage } from 'src/wechat/messages/inbound-message';
import type { Reply } from 'src/wechat/messages/reply';

/**
 * Forwards every message of an account with a forwardUrl to the team's backend and wraps the rest of the pipeline:
 * what a later step answers (a rule, the welcome text, a scan-to-login prompt) wins and the backend's reply is
 * ignored; when nothing answered, the backend's reply is the passive reply if it comes in time. It `mutates`, so
 * for these accounts the message is recorded before the pipeline runs and only the first delivery — never WeChat's
 * retries, on any instance — gets here. Accounts without forwarding pass it by, untouched.
 */
@Injectable()
@WebhookStep({ order: 10, mutates: true })
export class ForwardStep implements MessageHandler {
  constructor(private readonly forwarding: ForwardingService) {}

  accepts(_message: InboundMessage, context: WebhookContext): boolean {
    return this.forwarding.enabledFor(context.account);
  }

  async handle(
    message: InboundMessage,
    next: NextHandler,
    { account, deadline, retake }: WebhookContext,
  ): Promise<Reply | null> {
    let answer: Reply | null = null;
    try {
      answer = await next();
    } finally {
      // Forwarded whatever the rest did, failures included; its reply is only wanted when nothing answered.
      const backend = this.forwarding.forward(account, message, answer === null, { deadline, retake });
      if (answer === null) {
        answer = await backend;
      }
    }
    return answer;
  }
}
