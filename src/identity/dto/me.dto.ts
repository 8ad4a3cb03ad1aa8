import { ApiProperty } from '@nestjs/swagger';

export class IdentityDto {
  @ApiProperty({ example: 'wx1234567890abcdef' })
  appid: string;

  @ApiProperty({ example: 'oGZUI0egBJY1zhBYw2KhdUfwVJJE' })
  openid: string;

  @ApiProperty({ enum: ['official_account', 'mini_program'] })
  source: 'official_account' | 'mini_program';

  @ApiProperty({ nullable: true, type: Boolean, description: 'Official-account followers: subscribed or not' })
  subscribed: boolean | null;
}

export class MeDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ nullable: true, type: String })
  nickname: string | null;

  @ApiProperty({ nullable: true, type: String })
  avatarUrl: string | null;

  @ApiProperty({ nullable: true, type: String })
  unionid: string | null;

  @ApiProperty({ nullable: true, type: String, description: "WeChat's phoneNumber" })
  phone: string | null;

  @ApiProperty({ nullable: true, type: String, example: '86' })
  countryCode: string | null;

  @ApiProperty({ type: [IdentityDto] })
  identities: IdentityDto[];
}
