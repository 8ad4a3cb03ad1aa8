import { Controller, Get, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { readSessionToken } from 'src/identity/session-token';
import { OAuthService } from 'src/oauth/oauth.service';
import { homePage, sendPage } from 'src/oauth/views/pages';

@ApiTags('pages')
@Controller()
export class HomeController {
  constructor(private readonly oauth: OAuthService) {}

  @Get()
  @ApiProduces('text/html')
  @ApiOperation({ summary: 'Home page: 欢迎, <nickname> with the avatar when logged in, else 游客 and 微信登录' })
  @ApiOkResponse({ description: 'An HTML page for the phone screen' })
  async home(@Req() req: FastifyRequest, @Res() res: FastifyReply): Promise<void> {
    sendPage(res, 200, homePage(await this.oauth.homeView(readSessionToken(req))));
  }
}
