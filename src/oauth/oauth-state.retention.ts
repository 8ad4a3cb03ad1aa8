import { Injectable } from '@nestjs/common';
import { RetentionRegistry } from 'src/retention/retention.registry';

/** Expired OAuth states go (a callback can no longer use them); IDX_oauth_states_expires_at finds them. */
@Injectable()
export class OAuthStateRetention {
  constructor(registry: RetentionRegistry) {
    registry.register({ name: 'expired OAuth states', table: 'oauth_states', where: 'expires_at < now()' });
  }
}
