import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, UseGuards } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { AccountsAdminService } from 'src/accounts/accounts-admin.service';
import { AccountViewDto, CreateAccountDto, UpdateAccountDto } from 'src/accounts/dto/account.dto';
import { AdminKeyGuard } from 'src/common/guards/admin-key.guard';

@ApiTags('admin')
@ApiHeader({ name: 'X-Admin-Key', required: true, description: 'ADMIN_API_KEY' })
@UseGuards(AdminKeyGuard)
@Controller('admin/accounts')
export class AccountsAdminController {
  constructor(private readonly accounts: AccountsAdminService) {}

  @Post()
  @ApiOperation({ summary: 'Add an official account or mini-program; every instance serves it within 1 s' })
  @ApiCreatedResponse({ type: AccountViewDto })
  @ApiConflictResponse({ description: '`conflict`: an account with this appid already exists' })
  create(@Body() dto: CreateAccountDto): Promise<AccountViewDto> {
    return this.accounts.create(dto);
  }

  @Get()
  @ApiOperation({ summary: 'Every account, the env ones included' })
  @ApiOkResponse({ type: [AccountViewDto] })
  list(): AccountViewDto[] {
    return this.accounts.list();
  }

  @Get(':appid')
  @ApiOkResponse({ type: AccountViewDto })
  @ApiNotFoundResponse({ description: 'no such account' })
  get(@Param('appid') appid: string): AccountViewDto {
    return this.accounts.get(appid);
  }

  @Patch(':appid')
  @ApiOperation({ summary: 'Change an API account (any field but kind and appid)' })
  @ApiOkResponse({ type: AccountViewDto })
  @ApiConflictResponse({ description: '`managed_by_env`: an env account is changed in its variables' })
  update(@Param('appid') appid: string, @Body() dto: UpdateAccountDto): Promise<AccountViewDto> {
    return this.accounts.update(appid, dto);
  }

  @Delete(':appid')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove an API account with its tokens, tickets and rules (users and identities stay)' })
  @ApiNoContentResponse()
  @ApiConflictResponse({ description: '`managed_by_env`: an env account is removed from its variables' })
  remove(@Param('appid') appid: string): Promise<void> {
    return this.accounts.remove(appid);
  }
}
