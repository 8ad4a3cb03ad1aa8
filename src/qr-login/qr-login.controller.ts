import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiCreatedResponse,
  ApiFoundResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import { ConfigService } from '@nestjs/config';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendFound } from 'src/common/http/redirect';
import type { Configuration } from 'src/config/configuration';
import { readSessionToken, SESSION_COOKIE } from 'src/identity/session-token';
import { safeReturnTo } from 'src/oauth/return-to';
import { CreateQrLoginDto, QrLoginAttemptDto, QrLoginStatusDto } from 'src/qr-login/dto/qr-login.dto';
import { PhoneView, QR_EXPIRE_SECONDS, QrLoginService } from 'src/qr-login/qr-login.service';
import { confirmPage, loginPage, noticePage, sendLoginPage, sendPhonePage } from 'src/qr-login/views/qr-login-pages';
import { ACCOUNT_RULES } from 'src/accounts/account-rules';
import { httpOnlyCookie } from 'src/common/http/cookies';

/** Binds an attempt to the desktop browser that asked for it (only its hash is stored). */
export const QR_BROWSER_COOKIE = 'wx_qr';
/** The binding cookie outlives the code by the time a confirmed login may still be collected. */
const BROWSER_COOKIE_SECONDS = QR_EXPIRE_SECONDS * 2;

@ApiTags('qr-login')
@Controller()
export class QrLoginController {
  private readonly secureCookies: boolean;
  private readonly sessionTtlSeconds: number;

  constructor(
    private readonly qrLogin: QrLoginService,
    config: ConfigService<Configuration, true>,
  ) {
    const app = config.get('app', { infer: true });
    this.secureCookies = app.publicBaseUrl.startsWith('https://');
    this.sessionTtlSeconds = app.sessionTtlSeconds;
  }

  @Get('login')
  @ApiTags('pages')
  @ApiProduces('text/html')
  @ApiOperation({ summary: 'The desktop scan-to-login page: the QR code, its status, then returnTo once logged in' })
  @ApiQuery({ name: 'returnTo', required: false, description: 'Same-site path to land on; anything else becomes /' })
  @ApiQuery({ name: 'appid', required: false, description: 'The official account; the default one when left out' })
  loginPage(@Query('returnTo') returnTo: unknown, @Query('appid') appid: unknown, @Res() res: FastifyReply): void {
    sendLoginPage(
      res,
      loginPage({
        returnTo: safeReturnTo(returnTo),
        appid: typeof appid === 'string' && ACCOUNT_RULES.appid.pattern.test(appid) ? appid : undefined,
      }),
    );
  }

  @Post('qr-login')
  @ApiOperation({
    summary: 'Start a scan-to-login: a QR code of the official account, bound to this browser (cookie wx_qr)',
    description: "Calls WeChat's /cgi-bin/qrcode/create (QR_STR_SCENE, 300 s) with a fresh random scene_str.",
  })
  @ApiCreatedResponse({ type: QrLoginAttemptDto })
  @ApiBadRequestResponse({ description: 'bad_request: a field of the wrong type, or appid needed' })
  @ApiNotFoundResponse({ description: 'not_found: appid is no official account here' })
  async create(
    @Body() body: CreateQrLoginDto | undefined,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<QrLoginAttemptDto> {
    const { attempt, browserKey } = await this.qrLogin.create({
      appid: body?.appid,
      returnTo: body?.returnTo,
      browserKey: req.cookies?.[QR_BROWSER_COOKIE],
    });
    void res
      .setCookie(QR_BROWSER_COOKIE, browserKey, this.cookieOptions('/qr-login', BROWSER_COOKIE_SECONDS))
      .header('Cache-Control', 'no-store');
    return attempt;
  }

  @Get('qr-login/:id')
  @ApiOperation({
    summary: "The attempt's status (the browser that started it only)",
    description: 'The first read that finds it confirmed logs the browser in: cookie sid and "returnTo".',
  })
  @ApiOkResponse({ type: QrLoginStatusDto })
  @ApiNotFoundResponse({ description: 'not_found: unknown id, or another browser' })
  async status(
    @Param('id') id: string,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<QrLoginStatusDto> {
    const read = await this.qrLogin.status(id, req.cookies?.[QR_BROWSER_COOKIE]);
    void res.header('Cache-Control', 'no-store');
    if (read.session) {
      void res.setCookie(SESSION_COOKIE, read.session.token, this.cookieOptions('/', this.sessionTtlSeconds));
    }
    return read.returnTo === undefined ? { status: read.status } : { status: read.status, returnTo: read.returnTo };
  }

  @Get('qr-login/:id/events')
  @ApiProduces('text/event-stream')
  @ApiOperation({
    summary: 'The status as Server-Sent Events (the browser that started it only)',
    description:
      'event: status, data: {"status":…}; the current status first, a keep-alive comment every 15 s, closed after ' +
      'confirmed, denied or expired. It does not log in: read GET /qr-login/:id for that.',
  })
  @ApiOkResponse({ description: 'text/event-stream' })
  @ApiNotFoundResponse({ description: 'not_found: unknown id, or another browser' })
  async events(@Param('id') id: string, @Req() req: FastifyRequest, @Res() res: FastifyReply): Promise<void> {
    const stream = await this.qrLogin.stream(id, req.cookies?.[QR_BROWSER_COOKIE]);
    req.raw.once('close', () => stream.destroy());
    void res
      .headers({
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        'X-Accel-Buffering': 'no',
      })
      .send(stream);
  }

  @Get('qr-login/:id/confirm')
  @ApiTags('pages')
  @ApiProduces('text/html')
  @ApiOperation({
    summary: "The phone's confirmation page (WeChat's browser): 确认登录 / 取消 for the openid that scanned",
    description: 'Without a session of that openid, first a silent snsapi_base authorization that comes back here.',
  })
  @ApiOkResponse({ description: 'An HTML page' })
  @ApiFoundResponse({ description: 'To /oauth/authorize?scope=snsapi_base…, back here afterwards' })
  async confirmPage(
    @Param('id') id: string,
    @Query('via') via: unknown,
    @Req() req: FastifyRequest,
    @Res() res: FastifyReply,
  ): Promise<void> {
    const view = await this.qrLogin.confirmView(id, readSessionToken(req), via === 'oauth');
    if (view.kind === 'authorize') {
      void res.header('Cache-Control', 'no-store');
      sendFound(req, res, view.location);
      return;
    }
    this.sendView(res, view);
  }

  @Post('qr-login/:id/confirm')
  @HttpCode(200)
  @ApiTags('pages')
  @ApiProduces('text/html')
  @ApiOperation({ summary: 'The phone decides: action=confirm (→ confirmed) or action=cancel (→ denied), with csrf' })
  @ApiOkResponse({ description: 'An HTML page saying what happened' })
  async decide(
    @Param('id') id: string,
    @Body() body: Record<string, unknown> | undefined,
    @Req() req: FastifyRequest,
    @Res() res: FastifyReply,
  ): Promise<void> {
    this.sendView(res, await this.qrLogin.decide(id, readSessionToken(req), body?.action, body?.csrf));
  }

  private sendView(res: FastifyReply, view: PhoneView): void {
    switch (view.kind) {
      case 'ask':
        sendPhonePage(res, 200, confirmPage(view));
        return;
      case 'done':
        sendPhonePage(res, 200, noticePage(view.status));
        return;
      case 'closed':
        sendPhonePage(
          res,
          409,
          noticePage(view.status === 'expired' || view.status === 'pending' ? view.status : 'used'),
        );
        return;
      case 'refused':
        sendPhonePage(res, 403, noticePage(view.reason));
        return;
      case 'unknown':
        sendPhonePage(res, 404, noticePage('unknown'));
        return;
    }
  }

  private cookieOptions(path: string, maxAgeSeconds: number) {
    return httpOnlyCookie(this.secureCookies, path, maxAgeSeconds);
  }
}
