import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Configuration } from 'src/config/configuration';
import { IdentityService } from 'src/identity/identity.service';
import { MessageHandler, WebhookStep } from 'src/webhook/handlers/message-handler';
import type { InboundMessage, UnsubscribeEvent } from 'src/wechat/messages/inbound-message';

/** A follower left: marked unsubscribed. Nothing is said (WeChat would not deliver it). */
@Injectable()
@WebhookStep({ order: 200, mutates: true })
export class UnsubscribeHandler implements MessageHandler<UnsubscribeEvent> {
  private readonly logger = new Logger(UnsubscribeHandler.name);
  private readonly appId?: string;

  constructor(
    private readonly identities: IdentityService,
    config: ConfigService<Configuration, true>,
  ) {
    this.appId = config.get('wechat', { infer: true }).oa.appId;
  }

  accepts(message: InboundMessage): message is UnsubscribeEvent {
    return message.kind === 'event' && message.event === 'unsubscribe';
  }

  async handle(message: UnsubscribeEvent): Promise<null> {
    const known = this.appId ? await this.identities.setSubscribed(this.appId, message.fromUserName, false) : false;
    this.logger.log(`Follower ${message.fromUserName} left${known ? '' : ' (not known here)'}`);
    return null;
  }
}
