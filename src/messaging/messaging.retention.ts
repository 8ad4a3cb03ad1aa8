import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Configuration } from 'src/config/configuration';
import { RetentionRegistry } from 'src/retention/retention.registry';

/**
 * Sent (or failed) messages and finished forwards go after MESSAGE_RETENTION_DAYS, through their created_at indexes;
 * rows still queued or retrying stay whatever their age. Follower activity is one row per follower, kept.
 */
@Injectable()
export class MessagingRetention {
  constructor(registry: RetentionRegistry, config: ConfigService<Configuration, true>) {
    const days = config.get('messaging', { infer: true }).retentionDays;
    registry.register({
      name: 'sent messages',
      table: 'wechat_outbound_messages',
      where: `created_at < now() - make_interval(days => $1) AND status IN ('sent', 'failed')`,
      params: [days],
    });
    registry.register({
      name: 'finished forwards',
      table: 'wechat_forwards',
      where: `created_at < now() - make_interval(days => $1) AND status IN ('delivered', 'failed')`,
      params: [days],
    });
  }
}
