import { Controller, Get, Query, Res, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { contentTypeWithCharset } from 'src/common/http/content-type';
import { WebhookSignatureGuard } from 'src/webhook/webhook-signature.guard';

/** WeChat's URL check. The deliveries (`POST /wechat/webhook`) are served in the fast lane: see WebhookRoute. */
@ApiTags('webhook')
@UseGuards(WebhookSignatureGuard)
@Controller('wechat/webhook')
export class WebhookController {
  @Get()
  @ApiOperation({ summary: "WeChat's server URL check (服务器配置): answers echostr when the signature holds" })
  @ApiOkResponse({ description: 'echostr, as text/plain' })
  verify(@Query('echostr') echostr: unknown, @Res({ passthrough: true }) res: FastifyReply): string {
    void res.type(contentTypeWithCharset('text/plain'));
    return typeof echostr === 'string' ? echostr : '';
  }
}
