import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { TICKET_TYPES, type TicketType } from 'src/token/ticket.service';
import { ACCOUNT_RULES } from 'src/accounts/account-rules';

export class TicketQueryDto {
  @ApiProperty({ description: 'An official account of this service', example: 'wx1234567890abcdef' })
  @IsString()
  @Matches(ACCOUNT_RULES.appid.pattern, { message: `appid ${ACCOUNT_RULES.appid.message}` })
  appid: string;

  @ApiProperty({ enum: TICKET_TYPES, description: 'jsapi: the JS-SDK ticket of wx.config' })
  @IsIn(TICKET_TYPES, { message: `type must be one of: ${TICKET_TYPES.join(', ')}` })
  type: TicketType;
}

export class RejectedTicketDto {
  @ApiProperty({ description: 'The ticket a page was refused with (wx.config: invalid signature)' })
  @IsString()
  @MinLength(1)
  @MaxLength(512)
  ticket: string;
}

export class TicketDto {
  @ApiProperty({ example: 'wx1234567890abcdef' })
  appid: string;

  @ApiProperty({ enum: TICKET_TYPES })
  type: TicketType;

  @ApiProperty({ description: "WeChat's ticket for this official account, shared by every service that asks" })
  ticket: string;

  @ApiProperty({ description: 'When WeChat stops accepting the ticket (ISO 8601)' })
  expiresAt: string;
}
