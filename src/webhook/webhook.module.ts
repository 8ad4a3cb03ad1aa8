import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { IdentityModule } from 'src/identity/identity.module';
import { RetentionModule } from 'src/retention/retention.module';
import { TokenModule } from 'src/token/token.module';
import { AutoReplyRuleRepository } from 'src/webhook/auto-reply-rule.repository';
import { AutoReplyService } from 'src/webhook/auto-reply.service';
import { DomainVerifyController } from 'src/webhook/domain-verify.controller';
import { AutoReplyHandler } from 'src/webhook/handlers/auto-reply.handler';
import { SubscribeHandler } from 'src/webhook/handlers/subscribe.handler';
import { UnsubscribeHandler } from 'src/webhook/handlers/unsubscribe.handler';
import { WebhookPipeline } from 'src/webhook/handlers/webhook-pipeline';
import { InboundMessageRepository } from 'src/webhook/inbound-message.repository';
import { InboundMessageRetention } from 'src/webhook/inbound-message.retention';
import { MenuClient } from 'src/webhook/menu.client';
import { MenuService } from 'src/webhook/menu.service';
import { SpoolReplayService } from 'src/webhook/outage/spool-replay.service';
import { WebhookSpool } from 'src/webhook/outage/webhook-spool';
import { AutoReplyAdminController, MenuAdminController } from 'src/webhook/webhook-admin.controller';
import { WebhookController } from 'src/webhook/webhook.controller';
import { WebhookService } from 'src/webhook/webhook.service';
import { WeChatModule } from 'src/wechat/wechat.module';

/**
 * The official account's webhook (消息推送), its auto-reply rules, its custom menu and the domain-check file. The
 * handler pipeline is every `@WebhookStep()` provider of the app, this module's three among them (WebhookPipeline).
 */
@Module({
  imports: [WeChatModule, TokenModule, IdentityModule, DiscoveryModule, RetentionModule],
  controllers: [WebhookController, AutoReplyAdminController, MenuAdminController, DomainVerifyController],
  providers: [
    WebhookService,
    WebhookPipeline,
    InboundMessageRepository,
    InboundMessageRetention,
    AutoReplyRuleRepository,
    AutoReplyService,
    MenuClient,
    MenuService,
    SubscribeHandler,
    UnsubscribeHandler,
    AutoReplyHandler,
    WebhookSpool,
    SpoolReplayService,
  ],
})
export class WebhookModule {}
