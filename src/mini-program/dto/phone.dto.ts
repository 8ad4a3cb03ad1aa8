import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

// class-validator checks a property's decorators from the bottom up and reports the first failure: the type check
// comes last, so a missing or mistyped field is told that, not a length limit.
export class PhoneDto {
  @ApiProperty({ description: 'The code from the getPhoneNumber button (bindgetphonenumber event)' })
  @MaxLength(256)
  @IsNotEmpty({ message: 'code must not be empty' })
  @IsString({ message: 'code must be a string' })
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
