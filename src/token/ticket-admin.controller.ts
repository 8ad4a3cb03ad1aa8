import { Body, Controller, Get, HttpCode, Post, Query, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { AdminKeyGuard } from 'src/common/guards/admin-key.guard';
import { RejectedTicketDto, TicketDto, TicketQueryDto } from 'src/token/dto/ticket.dto';
import { TicketService, TicketView } from 'src/token/ticket.service';

const toDto = (ticket: TicketView): TicketDto => ({
  appid: ticket.appid,
  type: ticket.type,
  ticket: ticket.ticket,
  expiresAt: ticket.expiresAt.toISOString(),
});

@ApiTags('admin')
@ApiHeader({ name: 'X-Admin-Key', required: true, description: 'ADMIN_API_KEY' })
@UseGuards(AdminKeyGuard)
@Controller('admin/ticket')
export class TicketAdminController {
  constructor(private readonly tickets: TicketService) {}

  @Get()
  @ApiOperation({ summary: 'The central JS-SDK ticket (jsapi_ticket) of an official account, for other services' })
  @ApiOkResponse({ type: TicketDto })
  @ApiBadRequestResponse({ description: '`bad_request`: appid or type (only `jsapi`) is missing or wrong' })
  @ApiNotFoundResponse({ description: '`not_found`: no official account with this appid (mini-programs have none)' })
  async get(@Query() query: TicketQueryDto): Promise<TicketDto> {
    return toDto(await this.tickets.getTicket(query.appid, query.type));
  }

  @Post('rejected')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Report a ticket WeChat refused (wx.config: invalid signature); answers the one to use instead',
    description:
      'Compare-and-expire: the ticket is dropped only if it is still the stored one, and a new one is fetched once ' +
      'however many callers report it.',
  })
  @ApiOkResponse({ type: TicketDto })
  async rejected(@Query() query: TicketQueryDto, @Body() body: RejectedTicketDto): Promise<TicketDto> {
    return toDto(await this.tickets.onTicketRejected(query.appid, query.type, body.ticket));
  }
}
