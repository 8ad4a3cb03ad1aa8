import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

export class PhoneDto {
  @ApiProperty({ description: 'The code from the getPhoneNumber button (bindgetphonenumber event)' })
  @IsString({ message: 'code must be a string' })
  @IsNotEmpty({ message: 'code must not be empty' })
  @MaxLength(256)
  code: string;
}

export class PhoneResponseDto {
  @ApiProperty({ description: 'With the country code when outside mainland China', example: '13800138000' })
  phoneNumber: string;

  @ApiProperty({ example: '13800138000' })
  purePhoneNumber: string;

  @ApiProperty({ example: '86' })
  countryCode: string;
}
