import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

// class-validator checks a property's decorators from the bottom up and reports the first failure: the type check
// comes last, so a missing or mistyped field is told that, not a length limit.
export class LoginDto {
  @ApiProperty({ description: 'The code from wx.login() in the mini-program', example: '0a3bcD000abc' })
  @MaxLength(128)
  @IsNotEmpty({ message: 'code must not be empty' })
  @IsString({ message: 'code must be a string' })
  code: string;
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
