import { Controller, Get, Headers, Query, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { JssdkConfigDto } from 'src/jssdk/dto/jssdk-config.dto';
import { JssdkService } from 'src/jssdk/jssdk.service';

@ApiTags('jssdk')
@Controller('jssdk')
export class JssdkController {
  constructor(private readonly jssdk: JssdkService) {}

  @Get('config')
  @ApiOperation({
    summary: 'The signed wx.config of an H5 page (public)',
    description:
      'The page must be http(s) on a host in JSSDK_ALLOWED_HOSTS; its #fragment is not signed, its query is signed ' +
      'exactly as given. Access-Control-Allow-Origin echoes an allowed page origin (never *).',
  })
  @ApiQuery({ name: 'url', required: true, description: 'The page URL: location.href (the fragment is dropped)' })
  @ApiQuery({ name: 'appid', required: false, description: 'The official account; the default one when left out' })
  @ApiOkResponse({ type: JssdkConfigDto })
  @ApiBadRequestResponse({ description: '`bad_request`: url missing, not http(s), or not on an allowed host' })
  @ApiNotFoundResponse({ description: '`not_found`: appid is no official account of this service' })
  async config(
    @Query('url') url: unknown,
    @Query('appid') appid: unknown,
    @Headers('origin') origin: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<JssdkConfigDto> {
    // Every answer depends on Origin (and is fresh: a nonce and a timestamp), also a refusal.
    void reply.header('Vary', 'Origin').header('Cache-Control', 'no-store');
    const allowed = this.jssdk.allowOrigin(origin);
    if (allowed) {
      void reply.header('Access-Control-Allow-Origin', allowed);
    }
    return this.jssdk.config(url, appid);
  }
}
