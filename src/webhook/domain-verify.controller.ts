import { Controller, Get, Param, Res } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { contentTypeWithCharset } from 'src/common/http/content-type';
import { AppException } from 'src/common/errors/app-exception';
import { safeEqual } from 'src/common/safe-equal';
import type { Configuration } from 'src/config/configuration';

/** WeChat's domain check (JS 接口安全域名 / 网页授权域名): serves `MP_verify_<content>.txt` from the site root. */
@ApiTags('webhook')
@Controller()
export class DomainVerifyController {
  private readonly content?: string;

  constructor(config: ConfigService<Configuration, true>) {
    this.content = config.get('wechat', { infer: true }).oa.domainVerify;
  }

  @Get('MP_verify_:content.txt')
  @ApiOperation({ summary: 'The domain-check file of WECHAT_OA_DOMAIN_VERIFY; 404 for any other name' })
  @ApiOkResponse({ description: '<content>, as text/plain' })
  verify(@Param('content') content: string, @Res({ passthrough: true }) res: FastifyReply): string {
    if (!this.content || !safeEqual(content, this.content)) {
      throw AppException.notFound();
    }
    void res.type(contentTypeWithCharset('text/plain'));
    return this.content;
  }
}
