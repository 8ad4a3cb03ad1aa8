import { ApiProperty } from '@nestjs/swagger';

export class JssdkConfigDto {
  @ApiProperty({ description: 'The official account whose ticket signed the page', example: 'wx1234567890abcdef' })
  appId: string;

  @ApiProperty({ description: 'Seconds since the epoch, as signed', example: 1414587457 })
  timestamp: number;

  @ApiProperty({ description: 'A random string, as signed', example: 'Wm3WZYTPz0wzccnW' })
  nonceStr: string;

  @ApiProperty({ description: 'sha1 of jsapi_ticket, noncestr, timestamp and the url without its #fragment' })
  signature: string;
}
