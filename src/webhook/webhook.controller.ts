import type { IncomingHttpHeaders } from 'node:http';
import type { ParsedUrlQuery } from 'node:querystring';
import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { OfficialAccount } from 'src/accounts/account';
import { AccountRegistry } from 'src/accounts/account.registry';
import { contentTypeWithCharset } from 'src/common/http/content-type';
import { FastLaneRoute } from 'src/common/http/fast-lane';
import { checkWebhookSignature } from 'src/webhook/webhook-signature';
import { WEBHOOK_ACCOUNT_DELIVERY, WEBHOOK_DELIVERY } from 'src/webhook/webhook.route';
import { WebhookAnswer, WebhookQuery, WebhookService } from 'src/webhook/webhook.service';

/**
 * `/wechat/webhook` (the default official account) and `/wechat/webhook/:appid` (any official account of the
 * registry): WeChat's URL check (GET, through the framework) and its deliveries (POST, in the fast lane). Each checks
 * the signature with its account's Token first; an appid that is no official account here is a 404.
 */
@ApiTags('webhook')
@Controller('wechat/webhook')
export class WebhookController {
  constructor(
    private readonly webhook: WebhookService,
    private readonly accounts: AccountRegistry,
  ) {}

  @Get()
  @ApiOperation({ summary: "WeChat's server URL check (服务器配置): answers echostr when the signature holds" })
  @ApiOkResponse({ description: 'echostr, as text/plain' })
  verify(@Query() query: Record<string, unknown>, @Res({ passthrough: true }) res: FastifyReply): string {
    return this.echo(this.accounts.officialAccount(), query, res);
  }

  @Get(':appid')
  @ApiOperation({ summary: 'The URL check of one official account (its webhookUrl in /admin/accounts)' })
  @ApiOkResponse({ description: 'echostr, as text/plain' })
  @ApiNotFoundResponse({ description: 'No official account with this appid' })
  verifyAccount(
    @Param('appid') appid: string,
    @Query() query: Record<string, unknown>,
    @Res({ passthrough: true }) res: FastifyReply,
  ): string {
    return this.echo(this.accounts.officialAccount(appid), query, res);
  }

  @FastLaneRoute('POST', WEBHOOK_DELIVERY)
  deliver(
    query: ParsedUrlQuery,
    body: string | undefined,
    _headers: IncomingHttpHeaders,
    receivedAt: number,
  ): Promise<WebhookAnswer> {
    return this.receive(this.accounts.officialAccount(), query, body, receivedAt);
  }

  @FastLaneRoute('POST', WEBHOOK_ACCOUNT_DELIVERY, ':appid')
  deliverToAccount(
    query: ParsedUrlQuery,
    body: string | undefined,
    _headers: IncomingHttpHeaders,
    receivedAt: number,
    params: Readonly<Record<string, string>>,
  ): Promise<WebhookAnswer> {
    return this.receive(this.accounts.officialAccount(params.appid), query, body, receivedAt);
  }

  private echo(account: OfficialAccount, query: Record<string, unknown>, res: FastifyReply): string {
    checkWebhookSignature(account, 'GET', query);
    void res.type(contentTypeWithCharset('text/plain'));
    return typeof query.echostr === 'string' ? query.echostr : '';
  }

  private receive(
    account: OfficialAccount,
    query: ParsedUrlQuery,
    body: string | undefined,
    receivedAt: number,
  ): Promise<WebhookAnswer> {
    const encrypt = checkWebhookSignature(account, 'POST', query, body);
    return this.webhook.receive(account, query as WebhookQuery, body, encrypt, receivedAt);
  }
}
