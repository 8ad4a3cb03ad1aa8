import { Logger, Module, OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AppException } from 'src/common/errors/app-exception';
import { HttpPlatformModule } from 'src/common/http/http-platform.module';
import { RequestHooks } from 'src/common/http/request-hooks';
import type { Configuration } from 'src/config/configuration';
import { WindowLimiter } from 'src/rate-limit/window-limiter';

/**
 * The contract's public entry points that spend a WeChat call, by route pattern (as the router matched them; a
 * pattern not mounted in this build is simply never seen). The webhook is not among them, and never will be:
 * WeChat's deliveries come from a few addresses and must all be answered.
 */
export const RATE_LIMITED_ROUTES: readonly string[] = [
  '/miniprogram/login',
  '/oauth/authorize',
  '/oauth/callback',
  '/qr-login',
  '/jssdk/config',
];

const MINUTE_MS = 60_000;

/**
 * Per-client-IP limits on RATE_LIMITED_ROUTES: RATE_LIMIT_PER_MINUTE requests a minute for each IP and route (0 turns
 * them off), refused with 429 `too_many_requests` and `Retry-After`. A request hook, so the limit is checked before
 * the route runs or its body is read, with the client IP the fast lane and Fastify agree on. Counted per instance.
 */
@Module({ imports: [HttpPlatformModule] })
export class RateLimitModule implements OnModuleDestroy {
  private readonly sweeper?: NodeJS.Timeout;

  constructor(hooks: RequestHooks, config: ConfigService<Configuration, true>) {
    const perMinute = config.get('operations', { infer: true }).rateLimitPerMinute;
    if (perMinute === 0) {
      return;
    }
    const limited = new Set(RATE_LIMITED_ROUTES);
    const limiter = new WindowLimiter(perMinute, MINUTE_MS);
    const logger = new Logger(RateLimitModule.name);
    hooks.add({
      onRequest: (request, route, clientIp) => {
        if (route === undefined || !limited.has(route)) {
          return;
        }
        const ip = clientIp();
        const decision = limiter.hit(`${route} ${ip}`);
        if (!decision.allowed) {
          if (decision.first) {
            logger.warn(`Rate limit: ${ip} made more than ${perMinute} requests to ${route} within a minute`);
          }
          throw new AppException(
            429,
            'too_many_requests',
            `Too many requests: at most ${perMinute} a minute to ${route}; try again in ${decision.retryAfterSeconds} s.`,
            { headers: { 'retry-after': String(decision.retryAfterSeconds) } },
          );
        }
      },
    });
    this.sweeper = setInterval(() => limiter.sweep(), MINUTE_MS).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }
}
