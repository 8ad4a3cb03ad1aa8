import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, UseGuards } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { AccountRegistry } from 'src/accounts/account.registry';
import { AccountQueryDto } from 'src/accounts/dto/appid-query.dto';
import { AdminKeyGuard } from 'src/common/guards/admin-key.guard';
import { AutoReplyService } from 'src/webhook/auto-reply.service';
import { AutoReplyRuleDto, CreateAutoReplyDto } from 'src/webhook/dto/auto-reply.dto';
import { MenuDto } from 'src/webhook/dto/menu.dto';
import { MenuService } from 'src/webhook/menu.service';

@ApiTags('admin')
@ApiHeader({ name: 'X-Admin-Key', required: true, description: 'ADMIN_API_KEY' })
@UseGuards(AdminKeyGuard)
@Controller('admin/auto-replies')
export class AutoReplyAdminController {
  constructor(
    private readonly rules: AutoReplyService,
    private readonly accounts: AccountRegistry,
  ) {}

  @Post()
  @ApiOperation({
    summary: "Add an auto-reply rule to an official account's: a keyword (exact/contains) or a menu CLICK key",
  })
  @ApiCreatedResponse({ type: AutoReplyRuleDto })
  create(@Query() query: AccountQueryDto, @Body() dto: CreateAutoReplyDto): Promise<AutoReplyRuleDto> {
    return this.rules.create(this.accounts.officialAccount(query.appid), dto);
  }

  @Get()
  @ApiOperation({ summary: 'Every auto-reply rule of an official account, oldest first' })
  @ApiOkResponse({ type: [AutoReplyRuleDto] })
  list(@Query() query: AccountQueryDto): Promise<AutoReplyRuleDto[]> {
    return this.rules.list(this.accounts.officialAccount(query.appid));
  }

  @Get(':id')
  @ApiOkResponse({ type: AutoReplyRuleDto })
  get(@Query() query: AccountQueryDto, @Param('id') id: string): Promise<AutoReplyRuleDto> {
    return this.rules.get(this.accounts.officialAccount(query.appid), id);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse()
  delete(@Query() query: AccountQueryDto, @Param('id') id: string): Promise<void> {
    return this.rules.delete(this.accounts.officialAccount(query.appid), id);
  }
}

@ApiTags('admin')
@ApiHeader({ name: 'X-Admin-Key', required: true, description: 'ADMIN_API_KEY' })
@UseGuards(AdminKeyGuard)
@Controller('admin/menu')
export class MenuAdminController {
  constructor(
    private readonly menu: MenuService,
    private readonly accounts: AccountRegistry,
  ) {}

  @Put()
  @ApiOperation({ summary: "Set an official account's custom menu (WeChat's menu JSON, /cgi-bin/menu/create)" })
  @ApiOkResponse({ type: MenuDto })
  async set(@Query() query: AccountQueryDto, @Body() dto: MenuDto): Promise<MenuDto> {
    await this.menu.set(this.accounts.officialAccount(query.appid), dto);
    return { button: dto.button };
  }

  @Get()
  @ApiOperation({ summary: 'The current custom menu; 404 when none is set' })
  @ApiOkResponse({ type: MenuDto })
  get(@Query() query: AccountQueryDto): Promise<MenuDto> {
    return this.menu.get(this.accounts.officialAccount(query.appid));
  }

  @Delete()
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete the custom menu' })
  @ApiNoContentResponse()
  delete(@Query() query: AccountQueryDto): Promise<void> {
    return this.menu.delete(this.accounts.officialAccount(query.appid));
  }
}
