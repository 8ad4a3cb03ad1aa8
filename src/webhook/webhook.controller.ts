import { Body, Controller, Get, HttpCode, Post, Query, Res, UseGuards } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { contentTypeWithCharset } from 'src/common/http/content-type';
import { WebhookSignatureGuard } from 'src/webhook/webhook-signature.guard';
import { WebhookQuery, WebhookService } from 'src/webhook/webhook.service';

@ApiTags('webhook')
@UseGuards(WebhookSignatureGuard)
@Controller('wechat/webhook')
export class WebhookController {
  constructor(private readonly webhook: WebhookService) {}

  @Get()
  @ApiOperation({ summary: "WeChat's server URL check (服务器配置): answers echostr when the signature holds" })
  @ApiOkResponse({ description: 'echostr, as text/plain' })
  verify(@Query('echostr') echostr: unknown, @Res({ passthrough: true }) res: FastifyReply): string {
    void res.type(contentTypeWithCharset('text/plain'));
    return typeof echostr === 'string' ? echostr : '';
  }

  @Post()
  @HttpCode(200)
  @ApiOperation({ summary: 'Messages and events from WeChat (plaintext, compatible or safe mode)' })
  @ApiConsumes('text/xml', 'application/xml')
  @ApiBody({ description: "WeChat's message XML (at most 64 KiB)", schema: { type: 'string' } })
  @ApiOkResponse({ description: 'A passive reply (application/xml) or the text `success`' })
  async receive(
    @Query() query: WebhookQuery,
    @Body() body: unknown,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<string> {
    const answer = await this.webhook.receive(query, body, Date.now());
    void res.type(contentTypeWithCharset(answer.contentType));
    return answer.body;
  }
}
