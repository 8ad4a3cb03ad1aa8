import { Controller, Get, HttpCode, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppException } from 'src/common/errors/app-exception';
import { MeDto } from 'src/identity/dto/me.dto';
import { IdentityService } from 'src/identity/identity.service';
import { readSessionToken, SESSION_COOKIE } from 'src/identity/session-token';
import { AuthenticatedSession, CurrentSession, SessionGuard, SESSION_REQUIRED } from 'src/identity/session.guard';
import { SessionService } from 'src/identity/session.service';

@ApiTags('session')
@ApiBearerAuth()
@ApiCookieAuth(SESSION_COOKIE)
@Controller('api')
export class MeController {
  constructor(
    private readonly identities: IdentityService,
    private readonly sessions: SessionService,
  ) {}

  /** The session is checked by the same query that reads the user (no SessionGuard round trip first). */
  @Get('me')
  @ApiOkResponse({ type: MeDto, description: 'The logged-in user and their WeChat identities' })
  async me(@Req() req: FastifyRequest): Promise<MeDto> {
    const me = await this.identities.findMeBySessionToken(readSessionToken(req));
    if (!me) {
      throw AppException.unauthorized(SESSION_REQUIRED);
    }
    return me;
  }

  @Post('logout')
  @HttpCode(204)
  @UseGuards(SessionGuard)
  @ApiNoContentResponse({ description: 'The session no longer works' })
  async logout(
    @CurrentSession() session: AuthenticatedSession,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<void> {
    await this.sessions.revoke(session.token);
    void res.clearCookie(SESSION_COOKIE, { path: '/' });
  }
}
