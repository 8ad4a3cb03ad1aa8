import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * The reply of a message that was claimed before its steps ran (a state-changing message: see
 * InboundMessageRepository), written once when the delivery settles it. Its key is the message's. A message recorded
 * with its reply keeps it in `wechat_inbound_messages.reply` and has no row here.
 */
@Entity({ name: 'wechat_inbound_replies' })
@Index('IDX_wechat_inbound_replies_replied_at', ['repliedAt'])
export class InboundReplyEntity {
  @PrimaryColumn({ name: 'to_user_name', type: 'text', primaryKeyConstraintName: 'PK_wechat_inbound_replies' })
  toUserName: string;

  @PrimaryColumn({ name: 'dedupe_key', type: 'text', primaryKeyConstraintName: 'PK_wechat_inbound_replies' })
  dedupeKey: string;

  /** The plaintext reply XML, or `success`. */
  @Column({ type: 'text' })
  reply: string;

  @Column({ name: 'replied_at', type: 'timestamptz', default: () => 'now()' })
  repliedAt: Date;
}
