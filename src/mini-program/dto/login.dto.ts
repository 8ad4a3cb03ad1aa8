import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { ACCOUNT_RULES } from 'src/accounts/account-rules';

// class-validator checks a property's decorators from the bottom up and reports the first failure: the type check
// comes last, so a missing or mistyped field is told that, not a length limit.
export class LoginDto {
  @ApiProperty({ description: 'The code from wx.login() in the mini-program', example: '0a3bcD000abc' })
  @MaxLength(128)
  @IsNotEmpty({ message: 'code must not be empty' })
  @IsString({ message: 'code must be a string' })
  code: string;

  @ApiPropertyOptional({
    description: 'The mini-program the code is from; left out: the env mini-program, else the only one',
    example: 'wx1234567890abcdef',
  })
  @IsOptional()
  @IsString({ message: 'appid must be a single string' })
  @Matches(ACCOUNT_RULES.appid.pattern, { message: `appid ${ACCOUNT_RULES.appid.message}` })
  appid?: string;
}

export class LoginUserDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty()
  openid: string;

  @ApiProperty({ nullable: true, type: String })
  unionid: string | null;

  @ApiProperty({ description: 'True on the first login of this user' })
  isNew: boolean;
}

export class LoginResponseDto {
  @ApiProperty({ description: 'Opaque session token: send it as Authorization: Bearer <token>' })
  token: string;

  @ApiProperty({ description: 'Seconds until the session expires' })
  expiresIn: number;

  @ApiProperty({ type: LoginUserDto })
  user: LoginUserDto;
}
