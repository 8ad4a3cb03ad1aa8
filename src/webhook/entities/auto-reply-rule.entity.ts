import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { Reply } from 'src/wechat/messages/reply';

export type AutoReplyMatch = 'exact' | 'contains' | 'event';

/** An auto-reply: a keyword (exact or contained) in a text message, or a menu CLICK's EventKey, and what to answer. */
@Entity({ name: 'wechat_auto_reply_rules' })
export class AutoReplyRuleEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'match_kind', type: 'text' })
  matchKind: AutoReplyMatch;

  @Column({ type: 'text', nullable: true })
  keyword: string | null;

  @Column({ type: 'text', nullable: true })
  event: string | null;

  @Column({ name: 'event_key', type: 'text', nullable: true })
  eventKey: string | null;

  @Column({ type: 'jsonb' })
  reply: Reply;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
