import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';
import { ACCOUNT_RULES } from 'src/accounts/account-rules';

export class AppidQueryDto {
  @ApiProperty({ description: 'WECHAT_OA_APPID or WECHAT_MP_APPID', example: 'wx1234567890abcdef' })
  @IsString()
  @Matches(ACCOUNT_RULES.appid.pattern, { message: `appid ${ACCOUNT_RULES.appid.message}` })
  appid: string;
}

export class AccessTokenDto {
  @ApiProperty({ example: 'wx1234567890abcdef' })
  appid: string;

  @ApiProperty({ description: "WeChat's access_token for this appid, shared by every service that asks" })
  accessToken: string;

  @ApiProperty({ description: 'When WeChat stops accepting the token (ISO 8601)' })
  expiresAt: string;
}
