import { Module } from '@nestjs/common';
import { IdentityModule } from 'src/identity/identity.module';
import { LoggingModule } from 'src/logging/logging.module';
import { TokenModule } from 'src/token/token.module';
import { AutoReplyRuleRepository } from 'src/webhook/auto-reply-rule.repository';
import { AutoReplyService } from 'src/webhook/auto-reply.service';
import { DomainVerifyController } from 'src/webhook/domain-verify.controller';
import { AutoReplyHandler } from 'src/webhook/handlers/auto-reply.handler';
import { MessageHandler, WEBHOOK_HANDLERS } from 'src/webhook/handlers/message-handler';
import { SubscribeHandler } from 'src/webhook/handlers/subscribe.handler';
import { UnsubscribeHandler } from 'src/webhook/handlers/unsubscribe.handler';
import { InboundMessageRepository } from 'src/webhook/inbound-message.repository';
import { MenuClient } from 'src/webhook/menu.client';
import { MenuService } from 'src/webhook/menu.service';
import { AutoReplyAdminController, MenuAdminController } from 'src/webhook/webhook-admin.controller';
import { WebhookSignatureGuard } from 'src/webhook/webhook-signature.guard';
import { WebhookController } from 'src/webhook/webhook.controller';
import { WebhookRoute } from 'src/webhook/webhook.route';
import { WebhookService } from 'src/webhook/webhook.service';
import { WeChatModule } from 'src/wechat/wechat.module';

/** The official account's webhook (消息推送), its auto-reply rules, its custom menu and the domain-check file. */
@Module({
  imports: [WeChatModule, TokenModule, IdentityModule, LoggingModule],
  controllers: [WebhookController, AutoReplyAdminController, MenuAdminController, DomainVerifyController],
  providers: [
    WebhookService,
    WebhookRoute,
    WebhookSignatureGuard,
    InboundMessageRepository,
    AutoReplyRuleRepository,
    AutoReplyService,
    MenuClient,
    MenuService,
    SubscribeHandler,
    UnsubscribeHandler,
    AutoReplyHandler,
    {
      // The order is the pipeline's: the first handler that answers wins; the end of the line is `success`.
      provide: WEBHOOK_HANDLERS,
      inject: [SubscribeHandler, UnsubscribeHandler, AutoReplyHandler],
      useFactory: (...handlers: MessageHandler[]): MessageHandler[] => handlers,
    },
  ],
})
export class WebhookModule {}
