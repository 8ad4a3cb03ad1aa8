import { Injectable } from '@nestjs/common';
import { RetentionRegistry } from 'src/retention/retention.registry';
import { KEEP_EXPIRED_SECONDS } from 'src/qr-login/qr-login.repository';

/** Attempts go an hour after their QR code expired (a confirmed one is collected within minutes); by expires_at. */
@Injectable()
export class QrLoginRetention {
  constructor(registry: RetentionRegistry) {
    registry.register({
      name: 'expired QR-login attempts',
      table: 'qr_login_attempts',
      where: 'expires_at < now() - make_interval(secs => $1)',
      params: [KEEP_EXPIRED_SECONDS],
    });
  }
}
