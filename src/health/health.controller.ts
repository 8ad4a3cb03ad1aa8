import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheckError, TypeOrmHealthIndicator } from '@nestjs/terminus';
import type { Response } from 'express';

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(private readonly db: TypeOrmHealthIndicator) {}

  @Get()
  @ApiOkResponse({ description: '{"status":"ok","db":"up"}' })
  @ApiServiceUnavailableResponse({ description: 'The database is down' })
  async check(@Res({ passthrough: true }) res: Response): Promise<Record<string, unknown>> {
    try {
      await this.db.pingCheck('db', { timeout: 2000 });
      return { status: 'ok', db: 'up' };
    } catch (error) {
      if (!(error instanceof HealthCheckError) && !(error instanceof Error)) {
        throw error;
      }
      res.status(HttpStatus.SERVICE_UNAVAILABLE);
      return {
        statusCode: 503,
        error: 'database_unavailable',
        message: 'The database does not answer.',
        status: 'error',
        db: 'down',
      };
    }
  }
}
