import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsOptional, IsString, IsUrl, MaxLength } from 'class-validator';

export class ProfileDto {
  @ApiPropertyOptional({ example: '微信用户', maxLength: 64 })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  nickname?: string;

  @ApiPropertyOptional({ example: 'https://thirdwx.qlogo.cn/mmopen/vi_32/abc/132' })
  @IsOptional()
  @IsUrl({ protocols: ['https', 'http'], require_protocol: true }, { message: 'avatarUrl must be an http(s) URL' })
  @MaxLength(1024)
  avatarUrl?: string;
}
