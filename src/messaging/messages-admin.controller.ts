import { Body, Controller, Get, Param, Post, Query, Res, UseGuards } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AppException } from 'src/common/errors/app-exception';
import { AdminKeyGuard } from 'src/common/guards/admin-key.guard';
import { parseNewMessage } from 'src/messaging/dto/send-message';
import type { MessageStatus } from 'src/messaging/outbox.repository';
import { MessageView, OutboxService } from 'src/messaging/outbox.service';

const STATUSES: readonly MessageStatus[] = ['queued', 'sending', 'sent', 'failed'];

@ApiTags('admin')
@ApiHeader({ name: 'X-Admin-Key', required: true, description: 'ADMIN_API_KEY' })
@UseGuards(AdminKeyGuard)
@Controller('admin/messages')
export class MessagesAdminController {
  constructor(private readonly outbox: OutboxService) {}

  @Post()
  @ApiOperation({
    summary:
      'Queue a customer-service (custom), template or mini-program subscribe message; delivered and retried by the outbox',
  })
  @ApiBody({
    schema: { type: 'object', required: ['kind', 'touser'] },
    examples: {
      custom: { value: { kind: 'custom', touser: 'oOPENID', msgtype: 'text', text: { content: '您的订单已发货' } } },
      template: {
        value: {
          kind: 'template',
          touser: 'oOPENID',
          templateId: 'TEMPLATE_ID',
          data: { thing1: { value: '已发货' } },
        },
      },
      subscribe: {
        value: {
          kind: 'subscribe',
          touser: 'oOPENID',
          templateId: 'TEMPLATE_ID',
          data: { thing1: { value: '已发货' } },
        },
      },
    },
  })
  @ApiResponse({ status: 202, description: '{"id","status":"queued"}' })
  @ApiResponse({ status: 200, description: 'The idempotencyKey was used before: the first message' })
  @ApiResponse({ status: 409, description: 'outside_window: a custom message to a follower silent for 48 hours' })
  async send(@Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply): Promise<object> {
    const { created, message } = await this.outbox.enqueue(parseNewMessage(body));
    if (created) {
      void reply.status(202);
      return { id: message.id, status: message.status };
    }
    void reply.status(200);
    return message;
  }

  @Get()
  @ApiOperation({ summary: 'Messages, newest first; paged with limit (≤ 100) and before (the last id of a page)' })
  @ApiQuery({ name: 'status', required: false, enum: STATUSES })
  @ApiQuery({ name: 'limit', required: false, type: Number })
  @ApiQuery({ name: 'before', required: false })
  async list(
    @Query('status') status?: string,
    @Query('limit') limit?: string,
    @Query('before') before?: string,
  ): Promise<{ messages: MessageView[]; next: string | null }> {
    if (status !== undefined && !STATUSES.includes(status as MessageStatus)) {
      throw AppException.badRequest(`status must be one of ${STATUSES.join(', ')}`);
    }
    const size = limit === undefined ? 20 : Number(limit);
    if (!Number.isInteger(size) || size < 1 || size > 100) {
      throw AppException.badRequest('limit must be a whole number from 1 to 100');
    }
    if (before !== undefined && !/^[0-9a-f-]{36}$/i.test(before)) {
      throw AppException.badRequest('before must be the id of a message');
    }
    const messages = await this.outbox.list({ status: status as MessageStatus | undefined, limit: size, before });
    return { messages, next: messages.length === size ? messages[messages.length - 1].id : null };
  }

  @Get(':id')
  @ApiOperation({ summary: "A message's status, tries and last error" })
  get(@Param('id') id: string): Promise<MessageView> {
    return this.outbox.get(id);
  }
}
