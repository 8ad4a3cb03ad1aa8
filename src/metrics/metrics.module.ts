import { Global, Module } from '@nestjs/common';
import { RequestHooks } from 'src/common/http/request-hooks';
import { HttpPlatformModule } from 'src/common/http/http-platform.module';
import { Metrics } from 'src/metrics/metrics';
import { MetricsController } from 'src/metrics/metrics.controller';

/**
 * The metrics registry and `GET /metrics`. Requests are counted by the one request hook, so the fast lane's routes
 * and the framework's are recorded alike. Global, as the database is: every module that calls WeChat or handles a
 * delivery records into it, and feature modules would otherwise each import it.
 */
@Global()
@Module({
  imports: [HttpPlatformModule],
  controllers: [MetricsController],
  providers: [Metrics],
  exports: [Metrics],
})
export class MetricsModule {
  constructor(hooks: RequestHooks, metrics: Metrics) {
    if (metrics.enabled) {
      hooks.add({
        onResponse: (request, route, status, ms) => metrics.httpRequest(route, request.method, status, ms),
      });
    }
  }
}
