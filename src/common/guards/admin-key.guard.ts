import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { FastifyRequest } from 'fastify';
import { AppException } from 'src/common/errors/app-exception';
import { safeEqual } from 'src/common/safe-equal';
import type { Configuration } from 'src/config/configuration';

/** `/admin/*`: header `X-Admin-Key` equal to ADMIN_API_KEY, compared in constant time; 503 when unset. */
@Injectable()
export class AdminKeyGuard implements CanActivate {
  private readonly adminKey?: string;

  constructor(config: ConfigService<Configuration, true>) {
    this.adminKey = config.get('app', { infer: true }).adminApiKey;
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.adminKey) {
      throw AppException.notConfigured('ADMIN_API_KEY');
    }
    const given = context.switchToHttp().getRequest<FastifyRequest>().headers['x-admin-key'];
    if (typeof given !== 'string' || !safeEqual(given, this.adminKey)) {
      throw new AppException(401, 'unauthorized', 'A valid X-Admin-Key header is required.');
    }
    return true;
  }
}
