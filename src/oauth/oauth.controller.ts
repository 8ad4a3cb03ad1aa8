import { Controller, Get, HttpCode, Post, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCookieAuth,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiFoundResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiQuery,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ConfigService } from '@nestjs/config';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendFound } from 'src/common/http/redirect';
import type { Configuration } from 'src/config/configuration';
import { MeDto } from 'src/identity/dto/me.dto';
import { readSessionToken, SESSION_COOKIE } from 'src/identity/session-token';
import { AuthenticatedSession, CurrentSession, SessionGuard } from 'src/identity/session.guard';
import { OAuthPageFilter } from 'src/oauth/oauth-page.filter';
import { OAuthService, STATE_TTL_SECONDS } from 'src/oauth/oauth.service';
import { refusedPage, sendPage, snapshotPage } from 'src/oauth/views/pages';
import { OAUTH_SCOPES } from 'src/oauth/wechat-oauth.client';
import { httpOnlyCookie } from 'src/common/http/cookies';

/** Binds a pending authorization to the browser that started it (only its hash is stored with the state). */
export const BROWSER_COOKIE = 'wx_oauth';

@ApiTags('oauth')
@Controller()
export class OAuthController {
  private readonly secureCookies: boolean;
  private readonly sessionTtlSeconds: number;

  constructor(
    private readonly oauth: OAuthService,
    config: ConfigService<Configuration, true>,
  ) {
    const app = config.get('app', { infer: true });
    this.secureCookies = app.publicBaseUrl.startsWith('https://');
    this.sessionTtlSeconds = app.sessionTtlSeconds;
  }

  @Get('oauth/authorize')
  @UseFilters(OAuthPageFilter)
  @ApiOperation({
    summary: "Start a WeChat web login: 302 to WeChat's authorize page with a single-use state",
    description:
      'For the official account `appid` (left out: the default one); the state remembers it and /oauth/callback ' +
      'uses its credentials. With bind=1 and a live session, the callback joins the WeChat identity to that user ' +
      'instead of logging in as its own user. Errors are pages for browsers (Accept: text/html), JSON otherwise.',
  })
  @ApiFoundResponse({ description: 'Location: ${WECHAT_OPEN_BASE}/connect/oauth2/authorize?…#wechat_redirect' })
  @ApiBadRequestResponse({ description: 'scope is neither snsapi_base nor snsapi_userinfo; a malformed appid or bind' })
  @ApiUnauthorizedResponse({ description: 'bind=1 without a live session' })
  @ApiForbiddenResponse({ description: 'bind=1 from a page of another site (Sec-Fetch-Site: cross-site)' })
  @ApiNotFoundResponse({ description: 'appid is no official account of this service' })
  @ApiServiceUnavailableResponse({ description: 'WECHAT_OA_APPID / WECHAT_OA_SECRET unset' })
  // The document lists the query parameters bottom-up: scope, returnTo, appid, bind.
  @ApiQuery({
    name: 'bind',
    required: false,
    description: '1: bind the WeChat identity to the logged-in user (needs a live session) rather than log in as it',
    schema: { type: 'string', enum: ['1'] },
  })
  @ApiQuery({
    name: 'appid',
    required: false,
    description: 'The official account to authorize with; left out: the env account, else the only one',
    schema: { type: 'string', example: 'wx1234567890abcdef' },
  })
  @ApiQuery({
    name: 'returnTo',
    required: false,
    description: 'Same-site path to land on after the login; anything else (other hosts, schemes) becomes /',
    schema: { type: 'string', example: '/orders?tab=paid' },
  })
  @ApiQuery({
    name: 'scope',
    required: false,
    description: 'snsapi_base: silent, openid only; snsapi_userinfo: asks the user, gives nickname and avatar',
    schema: { type: 'string', enum: [...OAUTH_SCOPES], default: 'snsapi_userinfo' },
  })
  async authorize(
    // Read as they come and checked by the service: the query needs no class-transformer/class-validator pass.
    @Query('scope') scope: unknown,
    @Query('returnTo') returnTo: unknown,
    @Query('appid') appid: unknown,
    @Query('bind') bind: unknown,
    @Req() req: FastifyRequest,
    @Res() res: FastifyReply,
  ): Promise<void> {
    const { location, browserKey } = await this.oauth.authorize({
      scope,
      returnTo,
      appid,
      bind,
      browserKey: cookie(req, BROWSER_COOKIE),
      sessionToken: readSessionToken(req),
      crossSite: req.headers['sec-fetch-site'] === 'cross-site',
    });
    void res
      .setCookie(BROWSER_COOKIE, browserKey, this.cookieOptions('/oauth', STATE_TTL_SECONDS))
      .header('Cache-Control', 'no-store');
    sendFound(req, res, location);
  }

  @Get('oauth/callback')
  @UseFilters(OAuthPageFilter)
  @ApiProduces('text/html', 'application/json')
  @ApiOperation({
    summary: "WeChat's redirect back: exchanges the code, logs the user in (cookie sid) and 302s to returnTo",
    description:
      'No code (the user refused) → 200 page. Snapshot-page visitor → 200 page asking to open the full page. ' +
      'Errors are pages for browsers (Accept: text/html) and the JSON error otherwise.',
  })
  @ApiFoundResponse({
    description:
      'Logged in (or bound): Set-Cookie sid (a new session; the one the browser held ends), Location: returnTo',
  })
  @ApiOkResponse({ description: 'Refused, or snapshot-page visitor: an HTML page' })
  @ApiBadRequestResponse({ description: 'invalid_state: unknown, used or expired state, or another browser' })
  @ApiUnauthorizedResponse({ description: 'invalid_code: WeChat refused the code' })
  @ApiConflictResponse({ description: 'conflict: bind=1, and the WeChat account belongs to another user' })
  @ApiQuery({
    name: 'state',
    required: false,
    description: 'The state handed out by /oauth/authorize',
    schema: { type: 'string' },
  })
  @ApiQuery({
    name: 'code',
    required: false,
    description: "WeChat's one-time code; absent when the user refused",
    schema: { type: 'string' },
  })
  async callback(
    @Query('code') code: unknown,
    @Query('state') state: unknown,
    @Req() req: FastifyRequest,
    @Res() res: FastifyReply,
  ): Promise<void> {
    const outcome = await this.oauth.callback({
      code,
      state,
      browserKey: cookie(req, BROWSER_COOKIE),
      sessionToken: readSessionToken(req),
    });
    switch (outcome.kind) {
      case 'login':
        void res
          .setCookie(SESSION_COOKIE, outcome.session.token, this.cookieOptions('/', this.sessionTtlSeconds))
          .headers({ 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' });
        sendFound(req, res, outcome.returnTo);
        return;
      case 'refused':
        sendPage(res, 200, refusedPage(outcome.retryUrl));
        return;
      case 'snapshot':
        sendPage(res, 200, snapshotPage(outcome.retryUrl));
        return;
    }
  }

  @Post('api/me/sync')
  @HttpCode(200)
  @UseGuards(SessionGuard)
  @ApiTags('session')
  @ApiBearerAuth()
  @ApiCookieAuth(SESSION_COOKIE)
  @ApiOperation({
    summary: "Refresh the user's WeChat profile with the kept refresh_token (no new authorization)",
  })
  @ApiOkResponse({ type: MeDto })
  @ApiUnauthorizedResponse({ description: 'No live session' })
  @ApiConflictResponse({ description: 'reauthorize: the refresh_token lapsed (30 days) or none is kept' })
  sync(@CurrentSession() session: AuthenticatedSession): Promise<MeDto> {
    return this.oauth.sync(session.userId);
  }

  private cookieOptions(path: string, maxAgeSeconds: number) {
    return httpOnlyCookie(this.secureCookies, path, maxAgeSeconds);
  }
}

function cookie(req: FastifyRequest, name: string): unknown {
  return req.cookies?.[name];
}
