import { MessagingRetention } from 'src/messaging/messaging.retention';
import { RetentionModule } from 'src/retention/retention.module';
import { Module } from '@nestjs/common';
import { FollowerActivityRepository } from 'src/messaging/follower-activity.repository';
import { FollowerActivityStep } from 'src/messaging/follower-activity.step';
import { ForwardClient } from 'src/messaging/forward.client';
import { ForwardRepository } from 'src/messaging/forward.repository';
import { ForwardStep } from 'src/messaging/forward.step';
import { ForwardingService } from 'src/messaging/forwarding.service';
import { LateReplyToCustomMessage } from 'src/messaging/late-reply.handler';
import { MessageClient } from 'src/messaging/message.client';
import { MessagesAdminController } from 'src/messaging/messages-admin.controller';
import { OutboxRepository } from 'src/messaging/outbox.repository';
import { OutboxService } from 'src/messaging/outbox.service';
import { TokenModule } from 'src/token/token.module';

/**
 * Messages beyond the passive reply: the outbox of customer-service, template and subscribe messages
 * (`/admin/messages`), forwarding to the teams' backends, and the 48-hour window. It contributes two webhook steps
 * (follower activity, forwarding) and the late-reply taker; the webhook module imports none of it.
 */
@Module({
  imports: [TokenModule, RetentionModule],
  controllers: [MessagesAdminController],
  providers: [
    MessagingRetention,
    OutboxRepository,
    OutboxService,
    MessageClient,
    FollowerActivityRepository,
    FollowerActivityStep,
    ForwardRepository,
    ForwardClient,
    ForwardingService,
    ForwardStep,
    LateReplyToCustomMessage,
  ],
  exports: [OutboxRepository, ForwardRepository],
})
export class MessagingModule {}
