import { Controller, Get, Headers, Res } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AppException } from 'src/common/errors/app-exception';
import { safeEqual } from 'src/common/safe-equal';
import type { Configuration } from 'src/config/configuration';
import { Metrics } from 'src/metrics/metrics';

/** `GET /metrics`: Prometheus's text format; with METRICS_TOKEN set, only for `Authorization: Bearer <it>`. */
@ApiTags('operations')
@Controller('metrics')
export class MetricsController {
  private readonly token?: string;

  constructor(
    private readonly metrics: Metrics,
    config: ConfigService<Configuration, true>,
  ) {
    this.token = config.get('operations', { infer: true }).metricsToken;
  }

  @Get()
  @ApiOperation({ summary: 'Prometheus metrics (text exposition format)' })
  @ApiBearerAuth()
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'The metrics, as Prometheus scrapes them' })
  async scrape(
    @Headers('authorization') authorization: string | undefined,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<string> {
    if (this.token !== undefined) {
      const given = /^Bearer (\S+)$/i.exec(authorization ?? '')?.[1];
      if (given === undefined || !safeEqual(given, this.token)) {
        throw new AppException(401, 'unauthorized', 'The metrics need Authorization: Bearer <METRICS_TOKEN>.');
      }
    }
    if (!this.metrics.enabled) {
      throw AppException.notFound('Metrics are off (METRICS_ENABLED=false).');
    }
    void res.type(this.metrics.registry.contentType);
    return this.metrics.registry.metrics();
  }
}
