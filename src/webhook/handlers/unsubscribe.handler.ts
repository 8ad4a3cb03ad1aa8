import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Configuration } from 'src/config/configuration';
import { IdentityService } from 'src/identity/identity.service';
import { MessageHandler, NextHandler } from 'src/webhook/handlers/message-handler';
import type { InboundMessage } from 'src/wechat/messages/inbound-message';
import type { Reply } from 'src/wechat/messages/reply';

/** A follower left: marked unsubscribed. Nothing is said (WeChat would not deliver it). */
@Injectable()
export class UnsubscribeHandler implements MessageHandler {
  private readonly logger = new Logger(UnsubscribeHandler.name);
  private readonly appId?: string;

  constructor(
    private readonly identities: IdentityService,
    config: ConfigService<Configuration, true>,
  ) {
    this.appId = config.get('wechat', { infer: true }).oa.appId;
  }

  changesState(message: InboundMessage): boolean {
    return message.kind === 'event' && message.event === 'unsubscribe';
  }

  handle(message: InboundMessage, next: NextHandler): Promise<Reply | null> {
    // Not async: the messages passed on (most of them) cost no extra promise.
    return message.kind === 'event' && message.event === 'unsubscribe' ? this.farewell(message) : next();
  }

  private async farewell(message: InboundMessage): Promise<null> {
    const known = this.appId ? await this.identities.setSubscribed(this.appId, message.fromUserName, false) : false;
    this.logger.log(`Follower ${message.fromUserName} left${known ? '' : ' (not known here)'}`);
    return null;
  }
}
