import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { TypeOrmHealthIndicator } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(private readonly db: TypeOrmHealthIndicator) {}

  @Get()
  @ApiOkResponse({ description: '{"status":"ok","db":"up"}' })
  @ApiServiceUnavailableResponse({ description: 'The database does not answer' })
  async check(@Res({ passthrough: true }) res: FastifyReply): Promise<Record<string, unknown>> {
    const result = await this.db.pingCheck('db', { timeout: 2000 });
    if (result.db?.status === 'up') {
      return { status: 'ok', db: 'up' };
    }
    void res.status(HttpStatus.SERVICE_UNAVAILABLE);
    return {
      statusCode: 503,
      error: 'database_unavailable',
      message: 'The database does not answer.',
      status: 'error',
      db: 'down',
    };
  }
}
