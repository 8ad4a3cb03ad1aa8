import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { FastifyRequest } from 'fastify';
import { AppException } from 'src/common/errors/app-exception';
import { safeEqual } from 'src/common/safe-equal';
import type { Configuration } from 'src/config/configuration';

/**
 * `/admin/*`: header `X-Admin-Key` equal to one of ADMIN_API_KEY's comma-separated keys (several during a rotation),
 * compared in constant time with every one of them (no early exit tells which matched); 503 when unset.
 */
@Injectable()
export class AdminKeyGuard implements CanActivate {
  private readonly adminKeys: string[];

  constructor(config: ConfigService<Configuration, true>) {
    this.adminKeys = config.get('app', { infer: true }).adminApiKeys;
  }

  canActivate(context: ExecutionContext): boolean {
    if (this.adminKeys.length === 0) {
      throw AppException.notConfigured('ADMIN_API_KEY');
    }
    const given = context.switchToHttp().getRequest<FastifyRequest>().headers['x-admin-key'];
    if (typeof given !== 'string' || !this.isAdminKey(given)) {
      throw new AppException(401, 'unauthorized', 'A valid X-Admin-Key header is required.');
    }
    return true;
  }

  private isAdminKey(given: string): boolean {
    let matched = false;
    for (const key of this.adminKeys) {
      matched = safeEqual(given, key) || matched;
    }
    return matched;
  }
}
