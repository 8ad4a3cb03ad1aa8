import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { contentTypeWithCharset } from 'src/common/http/content-type';
import { AppException } from 'src/common/errors/app-exception';
import { AccountRegistry } from 'src/accounts/account.registry';
import { safeEqual } from 'src/common/safe-equal';

/** WeChat's domain check (JS 接口安全域名 / 网页授权域名): serves `MP_verify_<content>.txt` from the site root. */
@ApiTags('webhook')
@Controller()
export class DomainVerifyController {
  constructor(private readonly accounts: AccountRegistry) {}

  @Get('MP_verify_:content.txt')
  @ApiOperation({
    summary: "The domain-check file of any official account's domainVerify (WECHAT_OA_DOMAIN_VERIFY); else 404",
  })
  @ApiOkResponse({ description: '<content>, as text/plain' })
  verify(@Param('content') content: string, @Res({ passthrough: true }) res: FastifyReply): string {
    // Every account is compared (in constant time), so the answer's timing tells nothing of which one matched.
    let found = false;
    for (const account of this.accounts.officialAccounts()) {
      if (account.domainVerify && safeEqual(content, account.domainVerify)) {
        found = true;
      }
    }
    if (!found) {
      throw AppException.notFound();
    }
    void res.type(contentTypeWithCharset('text/plain'));
    return content;
  }
}
