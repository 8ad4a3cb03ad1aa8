import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';

export class AppidQueryDto {
  @ApiProperty({ description: 'WECHAT_OA_APPID or WECHAT_MP_APPID', example: 'wx1234567890abcdef' })
  @IsString()
  @Matches(/^wx[0-9a-zA-Z]{6,32}$/, { message: 'appid must be a WeChat AppID such as wx1234567890abcdef' })
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
