import { Injectable } from '@nestjs/common';
import { Sql } from 'src/database/sql';
import type { AutoReplyMatch } from 'src/webhook/entities/auto-reply-rule.entity';
import type { Reply } from 'src/wechat/messages/reply';

export interface AutoReplyRule {
  id: string;
  matchKind: AutoReplyMatch;
  keyword: string | null;
  event: string | null;
  eventKey: string | null;
  reply: Reply;
  createdAt: Date;
}

export type NewAutoReplyRule = Omit<AutoReplyRule, 'id' | 'createdAt'>;

const COLUMNS = `id, match_kind AS "matchKind", keyword, event, event_key AS "eventKey", reply, created_at AS "createdAt"`;

@Injectable()
export class AutoReplyRuleRepository {
  constructor(private readonly sql: Sql) {}

  async create(rule: NewAutoReplyRule): Promise<AutoReplyRule> {
    const rows = await this.sql.rows<AutoReplyRule>(
      `INSERT INTO wechat_auto_reply_rules (match_kind, keyword, event, event_key, reply)
       VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING ${COLUMNS}`,
      [rule.matchKind, rule.keyword, rule.event, rule.eventKey, JSON.stringify(rule.reply)],
    );
    return rows[0];
  }

  /** Every rule, oldest first (the order rules of the same kind are tried in). */
  list(): Promise<AutoReplyRule[]> {
    return this.sql.rows<AutoReplyRule>(`SELECT ${COLUMNS} FROM wechat_auto_reply_rules ORDER BY created_at, id`);
  }

  async find(id: string): Promise<AutoReplyRule | null> {
    const rows = await this.sql.rows<AutoReplyRule>(`SELECT ${COLUMNS} FROM wechat_auto_reply_rules WHERE id = $1`, [
      id,
    ]);
    return rows[0] ?? null;
  }

  async delete(id: string): Promise<boolean> {
    const rows = await this.sql.rows<{ id: string }>('DELETE FROM wechat_auto_reply_rules WHERE id = $1 RETURNING id', [
      id,
    ]);
    return rows.length > 0;
  }
}
