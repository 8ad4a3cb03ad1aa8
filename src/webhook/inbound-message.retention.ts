import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Configuration } from 'src/config/configuration';
import { RetentionRegistry } from 'src/retention/retention.registry';

/**
 * Recorded webhook messages go after WEBHOOK_RETENTION_DAYS (IDX_wechat_inbound_messages_received_at finds them), and
 * the replies settled for them with them (a reply is settled within seconds of its message's arrival; its index
 * IDX_wechat_inbound_replies_replied_at).
 */
@Injectable()
export class InboundMessageRetention {
  constructor(registry: RetentionRegistry, config: ConfigService<Configuration, true>) {
    const days = config.get('operations', { infer: true }).webhookRetentionDays;
    registry.register({
      name: 'webhook messages',
      table: 'wechat_inbound_messages',
      where: 'received_at < now() - make_interval(days => $1)',
      params: [days],
    });
    registry.register({
      name: 'webhook replies',
      table: 'wechat_inbound_replies',
      where: 'replied_at < now() - make_interval(days => $1)',
      params: [days],
    });
  }
}
