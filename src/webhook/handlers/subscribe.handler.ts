import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Configuration } from 'src/config/configuration';
import { IdentityService } from 'src/identity/identity.service';
import { MessageHandler, WebhookStep } from 'src/webhook/handlers/message-handler';
import type { InboundMessage, SubscribeEvent } from 'src/wechat/messages/inbound-message';
import type { Reply } from 'src/wechat/messages/reply';

/** A new follower: kept as a subscribed official-account identity, greeted with WECHAT_OA_WELCOME_TEXT. */
@Injectable()
@WebhookStep({ order: 100, mutates: true })
export class SubscribeHandler implements MessageHandler<SubscribeEvent> {
  private readonly logger = new Logger(SubscribeHandler.name);
  private readonly appId?: string;
  private readonly welcomeText: string;

  constructor(
    private readonly identities: IdentityService,
    config: ConfigService<Configuration, true>,
  ) {
    const { oa } = config.get('wechat', { infer: true });
    this.appId = oa.appId;
    this.welcomeText = oa.welcomeText;
  }

  accepts(message: InboundMessage): message is SubscribeEvent {
    return message.kind === 'event' && message.event === 'subscribe';
  }

  async handle(message: SubscribeEvent): Promise<Reply> {
    if (this.appId) {
      await this.identities.linkOrCreate({
        appid: this.appId,
        openid: message.fromUserName,
        source: 'official_account',
        subscribed: true,
      });
    } else {
      this.logger.warn('WECHAT_OA_APPID is unset: the new follower is greeted but not recorded');
    }
    this.logger.log(`New follower ${message.fromUserName}${message.scene ? ` (scene ${message.scene})` : ''}`);
    return { type: 'text', content: this.welcomeText };
  }
}
