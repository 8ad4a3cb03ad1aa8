import { Injectable } from '@nestjs/common';
import { RetentionRegistry } from 'src/retention/retention.registry';

/** Expired sessions go (revoked ones too, once past their expiry); IDX_sessions_expires_at finds them. */
@Injectable()
export class SessionRetention {
  constructor(registry: RetentionRegistry) {
    registry.register({ name: 'expired sessions', table: 'sessions', where: 'expires_at < now()' });
  }
}
