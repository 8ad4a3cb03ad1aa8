import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Configuration } from 'src/config/configuration';
import { RetentionRegistry } from 'src/retention/retention.registry';

/** Recorded webhook messages go after WEBHOOK_RETENTION_DAYS (IDX_wechat_inbound_messages_received_at finds them). */
@Injectable()
export class InboundMessageRetention {
  constructor(registry: RetentionRegistry, config: ConfigService<Configuration, true>) {
    registry.register({
      name: 'webhook messages',
      table: 'wechat_inbound_messages',
      where: 'received_at < now() - make_interval(days => $1)',
      params: [config.get('operations', { infer: true }).webhookRetentionDays],
    });
  }
}
