import { Check, Column, Entity, Index, PrimaryColumn, Unique } from 'typeorm';

/**
 * One inbound message forwarded to a team's backend: the key of its inbound record is unique here, so it is
 * forwarded once. `body` is the exact bytes signed and sent, the same on every try.
 */
@Entity({ name: 'wechat_forwards' })
@Check('CHK_wechat_forwards_status', `status IN ('delivering', 'pending', 'delivered', 'failed')`)
@Unique('UQ_wechat_forwards_message', ['toUserName', 'dedupeKey'])
@Index('IDX_wechat_forwards_due', ['dueAt'], { where: `status IN ('delivering', 'pending')` })
@Index('IDX_wechat_forwards_created', ['createdAt'])
export class ForwardEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'PK_wechat_forwards' })
  id: string;

  @Column({ type: 'text' })
  appid: string;

  @Column({ name: 'to_user_name', type: 'text' })
  toUserName: string;

  @Column({ name: 'dedupe_key', type: 'text' })
  dedupeKey: string;

  @Column({ type: 'text' })
  openid: string;

  @Column({ type: 'text' })
  url: string;

  @Column({ type: 'text' })
  body: string;

  /** False when a rule or the welcome text answered: the backend's reply is then ignored. */
  @Column({ name: 'reply_wanted', type: 'boolean' })
  replyWanted: boolean;

  @Column({ type: 'text' })
  status: string;

  @Column({ type: 'integer', default: 0 })
  attempts: number;

  @Column({ name: 'due_at', type: 'timestamptz', default: () => 'now()' })
  dueAt: Date;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'delivered_at', type: 'timestamptz', nullable: true })
  deliveredAt: Date | null;
}
