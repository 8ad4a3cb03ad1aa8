import { Check, Column, Entity, Index, PrimaryColumn, Unique } from 'typeorm';

/**
 * One customer-service, template or subscribe message of the outbox, from its 202 to `sent` or `failed`. While it
 * is `queued`, `dueAt` is when it may be tried; while `sending`, when its claim's lease runs out.
 */
@Entity({ name: 'wechat_outbound_messages' })
@Check('CHK_wechat_outbound_messages_kind', `kind IN ('custom', 'template', 'subscribe')`)
@Check('CHK_wechat_outbound_messages_status', `status IN ('queued', 'sending', 'sent', 'failed')`)
@Unique('UQ_wechat_outbound_messages_idempotency_key', ['appid', 'idempotencyKey'])
@Index('IDX_wechat_outbound_messages_due', ['dueAt'], { where: `status IN ('queued', 'sending')` })
@Index('IDX_wechat_outbound_messages_created', ['createdAt', 'id'])
@Index('IDX_wechat_outbound_messages_status', ['status', 'createdAt', 'id'])
export class OutboundMessageEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'PK_wechat_outbound_messages' })
  id: string;

  @Column({ type: 'text' })
  kind: string;

  @Column({ type: 'text' })
  appid: string;

  @Column({ type: 'text' })
  touser: string;

  /** The body sent to WeChat, exactly (WeChat's own JSON). */
  @Column({ type: 'jsonb' })
  payload: Record<string, unknown>;

  @Column({ name: 'idempotency_key', type: 'text', nullable: true })
  idempotencyKey: string | null;

  /** `api` (POST /admin/messages), `late_reply` (the webhook's pipeline), `forward_reply` (the team's backend). */
  @Column({ type: 'text', default: 'api' })
  origin: string;

  @Column({ type: 'text', default: 'queued' })
  status: string;

  @Column({ type: 'integer', default: 0 })
  attempts: number;

  @Column({ name: 'due_at', type: 'timestamptz', default: () => 'now()' })
  dueAt: Date;

  @Column({ name: 'last_errcode', type: 'integer', nullable: true })
  lastErrcode: number | null;

  @Column({ name: 'last_error_code', type: 'text', nullable: true })
  lastErrorCode: string | null;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;

  @Column({ name: 'wechat_msgid', type: 'text', nullable: true })
  wechatMsgid: string | null;

  @Column({ name: 'sent_at', type: 'timestamptz', nullable: true })
  sentAt: Date | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt: Date;
}
