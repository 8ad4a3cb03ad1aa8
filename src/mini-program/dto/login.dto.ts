import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

export class LoginDto {
  @ApiProperty({ description: 'The code from wx.login() in the mini-program', example: '0a3bcD000abc' })
  @IsString({ message: 'code must be a string' })
  @IsNotEmpty({ message: 'code must not be empty' })
  @MaxLength(128)
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
