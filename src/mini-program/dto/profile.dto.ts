import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsOptional, IsString, IsUrl, MaxLength } from 'class-validator';

// class-validator checks a property's decorators from the bottom up and reports the first failure: the type check
// comes last, so a missing or mistyped field is told that, not a length limit.
export class ProfileDto {
  @ApiPropertyOptional({ example: '微信用户', maxLength: 64 })
  @IsOptional()
  @MaxLength(64)
  @IsNotEmpty()
  @IsString()
  nickname?: string;

  @ApiPropertyOptional({ example: 'https://thirdwx.qlogo.cn/mmopen/vi_32/abc/132' })
  @IsOptional()
  @MaxLength(1024)
  @IsUrl({ protocols: ['https', 'http'], require_protocol: true }, { message: 'avatarUrl must be an http(s) URL' })
  avatarUrl?: string;
}
