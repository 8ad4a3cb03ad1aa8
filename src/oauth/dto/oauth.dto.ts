import { ApiPropertyOptional } from '@nestjs/swagger';
import { Allow, IsIn, IsOptional } from 'class-validator';
import { OAUTH_SCOPES, type OAuthScope } from 'src/oauth/wechat-oauth.client';

export class AuthorizeQueryDto {
  @ApiPropertyOptional({
    enum: OAUTH_SCOPES,
    default: 'snsapi_userinfo',
    description: 'snsapi_base: silent, openid only; snsapi_userinfo: asks the user, gives nickname and avatar',
  })
  @IsOptional()
  @IsIn(OAUTH_SCOPES, { message: 'scope must be snsapi_base or snsapi_userinfo' })
  scope?: OAuthScope;

  @ApiPropertyOptional({
    example: '/orders?tab=paid',
    description: 'Same-site path to land on after the login; anything else (other hosts, schemes) becomes /',
  })
  @Allow()
  returnTo?: unknown;
}

export class CallbackQueryDto {
  @ApiPropertyOptional({ description: "WeChat's one-time code; absent when the user refused" })
  @Allow()
  code?: unknown;

  @ApiPropertyOptional({ description: 'The state handed out by /oauth/authorize' })
  @Allow()
  state?: unknown;
}
