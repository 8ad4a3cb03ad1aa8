import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * One message or event from WeChat, recorded once (with its reply, or claimed and replied later): the primary key
 * (official account, dedupe key) is where WeChat's retries meet.
 */
@Entity({ name: 'wechat_inbound_messages' })
@Index('IDX_wechat_inbound_messages_received_at', ['receivedAt'])
@Index('IDX_wechat_inbound_messages_follow_events', ['toUserName', 'fromUserName', 'wechatCreateTime'], {
  where: `event IN ('subscribe', 'unsubscribe')`,
})
export class InboundMessageEntity {
  @PrimaryColumn({ name: 'to_user_name', type: 'text', primaryKeyConstraintName: 'PK_wechat_inbound_messages' })
  toUserName: string;

  /** `msg:<MsgId>`, or `event:<FromUserName>:<CreateTime>:<Event>`. */
  @PrimaryColumn({ name: 'dedupe_key', type: 'text', primaryKeyConstraintName: 'PK_wechat_inbound_messages' })
  dedupeKey: string;

  @Column({ name: 'from_user_name', type: 'text' })
  fromUserName: string;

  @Column({ name: 'msg_type', type: 'text' })
  msgType: string;

  @Column({ type: 'text', nullable: true })
  event: string | null;

  @Column({ name: 'msg_id', type: 'text', nullable: true })
  msgId: string | null;

  @Column({ name: 'wechat_create_time', type: 'bigint' })
  wechatCreateTime: string;

  /**
   * The message's other top-level fields as sent, also for types this service does not model: all but those the
   * columns above hold (ToUserName, FromUserName, CreateTime, MsgType, Event, MsgId).
   */
  @Column({ type: 'jsonb' })
  fields: Record<string, string>;

  @Column({ type: 'boolean', default: false })
  encrypted: boolean;

  /**
   * The plaintext reply XML, or `success`, of a message recorded with its reply. Null on a claimed message: its
   * reply, once settled, is its row of `wechat_inbound_replies`.
   */
  @Column({ type: 'text', nullable: true })
  reply: string | null;

  @Column({ name: 'received_at', type: 'timestamptz', default: () => 'now()' })
  receivedAt: Date;

  @Column({ name: 'replied_at', type: 'timestamptz', nullable: true })
  repliedAt: Date | null;

  /**
   * While the reply is null: when the delivery working on it is past its deadline, after which the next delivery of
   * the message takes it over. Null on rows recorded with their reply.
   */
  @Column({ name: 'lease_until', type: 'timestamptz', nullable: true })
  leaseUntil: Date | null;
}
