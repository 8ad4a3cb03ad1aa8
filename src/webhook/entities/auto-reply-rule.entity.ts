import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { Reply } from 'src/wechat/messages/reply';

export type AutoReplyMatch = 'exact' | 'contains' | 'event';

/** An auto-reply: a keyword (exact or contained) in a text message, or a menu CLICK's EventKey, and what to answer. */
@Entity({ name: 'wechat_auto_reply_rules' })
// The constraint names are the ones PostgreSQL gave the migration's unnamed CHECKs.
@Check('wechat_auto_reply_rules_match_kind_check', `match_kind IN ('exact', 'contains', 'event')`)
@Check(
  'wechat_auto_reply_rules_check',
  `(match_kind = 'event') = (event IS NOT NULL AND event_key IS NOT NULL AND keyword IS NULL)`,
)
@Check('wechat_auto_reply_rules_check1', `match_kind = 'event' OR keyword IS NOT NULL`)
@Index('IDX_wechat_auto_reply_rules_appid', ['appid', 'createdAt'])
export class AutoReplyRuleEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'wechat_auto_reply_rules_pkey' })
  id: string;

  /** The official account the rule belongs to; '' for the default one before WECHAT_OA_APPID was known. */
  @Column({ type: 'text', default: '' })
  appid: string;

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

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
