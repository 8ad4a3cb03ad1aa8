import { Controller, Get, HttpCode, Post, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { MeDto } from 'src/identity/dto/me.dto';
import { IdentityService } from 'src/identity/identity.service';
import { SESSION_COOKIE } from 'src/identity/session-token';
import { AuthenticatedSession, CurrentSession, SessionGuard } from 'src/identity/session.guard';
import { SessionService } from 'src/identity/session.service';

@ApiTags('session')
@ApiBearerAuth()
@ApiCookieAuth(SESSION_COOKIE)
@UseGuards(SessionGuard)
@Controller('api')
export class MeController {
  constructor(
    private readonly identities: IdentityService,
    private readonly sessions: SessionService,
  ) {}

  @Get('me')
  @ApiOkResponse({ type: MeDto, description: 'The logged-in user and their WeChat identities' })
  me(@CurrentSession() session: AuthenticatedSession): Promise<MeDto> {
    return this.identities.getMe(session.userId);
  }

  @Post('logout')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'The session no longer works' })
  async logout(
    @CurrentSession() session: AuthenticatedSession,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<void> {
    await this.sessions.revoke(session.token);
    void res.clearCookie(SESSION_COOKIE, { path: '/' });
  }
}
