import { Controller, Get, HttpCode, Post, Query, UseGuards } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminKeyGuard } from 'src/common/guards/admin-key.guard';
import { AccessTokenDto, AppidQueryDto } from 'src/token/dto/access-token.dto';
import { AccessTokenView, TokenService } from 'src/token/token.service';

const toDto = (token: AccessTokenView): AccessTokenDto => ({
  appid: token.appid,
  accessToken: token.accessToken,
  expiresAt: token.expiresAt.toISOString(),
});

@ApiTags('admin')
@ApiHeader({ name: 'X-Admin-Key', required: true, description: 'ADMIN_API_KEY' })
@UseGuards(AdminKeyGuard)
@Controller('admin/token')
export class TokenAdminController {
  constructor(private readonly tokens: TokenService) {}

  @Get()
  @ApiOperation({ summary: 'The central access_token of an appid, for the other services' })
  @ApiOkResponse({ type: AccessTokenDto })
  async get(@Query() query: AppidQueryDto): Promise<AccessTokenDto> {
    return toDto(await this.tokens.getAccessToken(query.appid));
  }

  @Post('refresh')
  @HttpCode(200)
  @ApiOperation({ summary: "Force a new token (WeChat's force_refresh: 20 a day, 30 s apart), e.g. after a leak" })
  @ApiOkResponse({ type: AccessTokenDto })
  async refresh(@Query() query: AppidQueryDto): Promise<AccessTokenDto> {
    return toDto(await this.tokens.forceRefresh(query.appid));
  }
}
