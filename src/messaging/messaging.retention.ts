import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Configuration } from 'src/config/configuration';
import { RetentionRegistry } from 'src/retention/retention.registry';

/**
 * Sent (or failed) messages and finished forwards go after MESSAGE_RETENTION_DAYS, through their created_at indexes;
 * rows still queued or retrying stay whatever their age. A follower's activity goes after
 * FOLLOWER_ACTIVITY_RETENTION_DAYS without a new message or event (IDX_wechat_follower_activity_last_at): a row older
 * than 48 hours already answers `outside_window`, as no row does, so only what an operator may still want to read
 * (who wrote in the last week, by default) is kept.
 */
@Injectable()
export class MessagingRetention {
  constructor(registry: RetentionRegistry, config: ConfigService<Configuration, true>) {
    const { retentionDays: days, activityRetentionDays } = config.get('messaging', { infer: true });
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
    registry.register({
      name: 'follower activity',
      table: 'wechat_follower_activity',
      where: 'last_at < now() - make_interval(days => $1)',
      params: [activityRetentionDays],
    });
  }
}
