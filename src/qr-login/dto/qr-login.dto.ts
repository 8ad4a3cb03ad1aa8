import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';

export class CreateQrLoginDto {
  @ApiPropertyOptional({ description: 'The official account whose QR code to show; the default one when left out' })
  @IsOptional()
  @IsString({ message: 'appid must be a string' })
  @MaxLength(64)
  appid?: string;

  @ApiPropertyOptional({
    description: 'Same-site path the desktop goes to once logged in; anything else becomes /',
    example: '/orders',
  })
  @IsOptional()
  @IsString({ message: 'returnTo must be a string' })
  @MaxLength(2048)
  returnTo?: string;
}

export class QrLoginAttemptDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ description: "The QR code's content as WeChat gave it", example: 'http://weixin.qq.com/q/02abc' })
  qrUrl: string;

  @ApiProperty({ description: 'The QR code as an SVG data URL, made by the service' })
  qrImage: string;

  @ApiProperty({ format: 'date-time' })
  expiresAt: string;

  @ApiProperty({ example: '/qr-login/<id>/events' })
  eventsUrl: string;

  @ApiProperty({ example: '/qr-login/<id>' })
  pollUrl: string;
}

export class QrLoginStatusDto {
  @ApiProperty({ enum: ['pending', 'scanned', 'confirmed', 'denied', 'expired'] })
  status: string;

  @ApiPropertyOptional({ description: 'Only on the read that logged the browser in (and set the sid cookie)' })
  returnTo?: string;
}
