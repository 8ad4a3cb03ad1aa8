import type { IncomingHttpHeaders } from 'node:http';
import type { ParsedUrlQuery } from 'node:querystring';
import { Controller, Get, Query, Res } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { contentTypeWithCharset } from 'src/common/http/content-type';
import { FastLaneRoute } from 'src/common/http/fast-lane';
import type { Configuration } from 'src/config/configuration';
import { checkWebhookSignature } from 'src/webhook/webhook-signature';
import { WEBHOOK_DELIVERY } from 'src/webhook/webhook.route';
import { WebhookAnswer, WebhookQuery, WebhookService } from 'src/webhook/webhook.service';

/**
 * `/wechat/webhook`: WeChat's URL check (GET, through the framework) and its deliveries (POST, in the fast lane).
 * Both check the signature first.
 */
@ApiTags('webhook')
@Controller('wechat/webhook')
export class WebhookController {
  private readonly token?: string;

  constructor(
    private readonly webhook: WebhookService,
    config: ConfigService<Configuration, true>,
  ) {
    this.token = config.get('wechat', { infer: true }).oa.token;
  }

  @Get()
  @ApiOperation({ summary: "WeChat's server URL check (服务器配置): answers echostr when the signature holds" })
  @ApiOkResponse({ description: 'echostr, as text/plain' })
  verify(@Query() query: Record<string, unknown>, @Res({ passthrough: true }) res: FastifyReply): string {
    checkWebhookSignature(this.token, 'GET', query);
    void res.type(contentTypeWithCharset('text/plain'));
    return typeof query.echostr === 'string' ? query.echostr : '';
  }

  @FastLaneRoute('POST', WEBHOOK_DELIVERY)
  deliver(
    query: ParsedUrlQuery,
    body: string | undefined,
    _headers: IncomingHttpHeaders,
    receivedAt: number,
  ): Promise<WebhookAnswer> {
    const encrypt = checkWebhookSignature(this.token, 'POST', query, body);
    return this.webhook.receive(query as WebhookQuery, body, encrypt, receivedAt);
  }
}
