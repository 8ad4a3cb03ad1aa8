import { Controller, Get, HttpCode, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiCookieAuth, ApiOkResponse, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppException } from 'src/common/errors/app-exception';
import { SESSION_COOKIE, readSessionToken } from 'src/identity/session-token';
import { AuthenticatedSession, CurrentSession, SessionGuard } from 'src/identity/session.guard';
import { SessionService } from 'src/identity/session.service';
import { OAuthService } from 'src/oauth/oauth.service';
import { HOME_LOGOUT_PATH, HOME_SYNC_PATH, homePage, sendPage } from 'src/oauth/views/pages';

@ApiTags('pages')
@Controller()
export class HomeController {
  constructor(
    private readonly oauth: OAuthService,
    private readonly sessions: SessionService,
  ) {}

  @Get()
  @ApiProduces('text/html')
  @ApiOperation({ summary: 'Home page: 欢迎, <nickname> with the avatar when logged in, else 游客 and 微信登录' })
  @ApiOkResponse({ description: 'An HTML page for the phone screen' })
  async home(@Req() req: FastifyRequest, @Res() res: FastifyReply): Promise<void> {
    sendPage(res, 200, homePage(await this.oauth.homeView(readSessionToken(req))));
  }

  /** The home page's 更新微信资料: what POST /api/me/sync does, then back to the page (a new authorization if due). */
  @Post(HOME_SYNC_PATH)
  @HttpCode(303)
  @UseGuards(SessionGuard)
  @ApiCookieAuth(SESSION_COOKIE)
  @ApiOperation({ summary: "The home page's 更新微信资料 button: refreshes the profile, then 303 to /" })
  @ApiResponse({ status: 303, description: 'To /, or to /oauth/authorize when a new authorization is needed' })
  async sync(@CurrentSession() session: AuthenticatedSession, @Res() res: FastifyReply): Promise<void> {
    try {
      await this.oauth.sync(session.userId);
    } catch (error) {
      if (error instanceof AppException && error.code === 'reauthorize') {
        void res.redirect('/oauth/authorize?scope=snsapi_userinfo&returnTo=%2F', 303);
        return;
      }
      throw error;
    }
    void res.redirect('/', 303);
  }

  /** The home page's 退出登录: what POST /api/logout does, then back to the page. */
  @Post(HOME_LOGOUT_PATH)
  @HttpCode(303)
  @UseGuards(SessionGuard)
  @ApiCookieAuth(SESSION_COOKIE)
  @ApiOperation({ summary: "The home page's 退出登录 button: ends the session, then 303 to /" })
  @ApiResponse({ status: 303, description: 'To /, logged out' })
  async logout(@CurrentSession() session: AuthenticatedSession, @Res() res: FastifyReply): Promise<void> {
    await this.sessions.revoke(session.token);
    void res.clearCookie(SESSION_COOKIE, { path: '/' }).redirect('/', 303);
  }
}
