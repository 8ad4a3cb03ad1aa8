import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, UseGuards } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
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
  constructor(private readonly rules: AutoReplyService) {}

  @Post()
  @ApiOperation({ summary: 'Add an auto-reply rule: a keyword (exact/contains) or a menu CLICK key, and the reply' })
  @ApiCreatedResponse({ type: AutoReplyRuleDto })
  create(@Body() dto: CreateAutoReplyDto): Promise<AutoReplyRuleDto> {
    return this.rules.create(dto);
  }

  @Get()
  @ApiOperation({ summary: 'Every auto-reply rule, oldest first' })
  @ApiOkResponse({ type: [AutoReplyRuleDto] })
  list(): Promise<AutoReplyRuleDto[]> {
    return this.rules.list();
  }

  @Get(':id')
  @ApiOkResponse({ type: AutoReplyRuleDto })
  get(@Param('id') id: string): Promise<AutoReplyRuleDto> {
    return this.rules.get(id);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse()
  delete(@Param('id') id: string): Promise<void> {
    return this.rules.delete(id);
  }
}

@ApiTags('admin')
@ApiHeader({ name: 'X-Admin-Key', required: true, description: 'ADMIN_API_KEY' })
@UseGuards(AdminKeyGuard)
@Controller('admin/menu')
export class MenuAdminController {
  constructor(private readonly menu: MenuService) {}

  @Put()
  @ApiOperation({ summary: "Set the official account's custom menu (WeChat's menu JSON, /cgi-bin/menu/create)" })
  @ApiOkResponse({ type: MenuDto })
  async set(@Body() dto: MenuDto): Promise<MenuDto> {
    await this.menu.set(dto);
    return { button: dto.button };
  }

  @Get()
  @ApiOperation({ summary: 'The current custom menu; 404 when none is set' })
  @ApiOkResponse({ type: MenuDto })
  get(): Promise<MenuDto> {
    return this.menu.get();
  }

  @Delete()
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete the custom menu' })
  @ApiNoContentResponse()
  delete(): Promise<void> {
    return this.menu.delete();
  }
}
