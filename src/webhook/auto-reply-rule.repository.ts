import { Injectable } from '@nestjs/common';
import { Sql } from 'src/database/sql';
import type { AutoReplyMatch } from 'src/webhook/entities/auto-reply-rule.entity';
import type { Reply } from 'src/wechat/messages/reply';

export interface AutoReplyRule {
  id: string;
  /** The official account's appid ('' for the default account before WECHAT_OA_APPID was known). */
  appid: string;
  matchKind: AutoReplyMatch;
  keyword: string | null;
  event: string | null;
  eventKey: string | null;
  reply: Reply;
  createdAt: Date;
}

export type NewAutoReplyRule = Omit<AutoReplyRule, 'id' | 'appid' | 'createdAt'>;

const COLUMNS = `id, appid, match_kind AS "matchKind", keyword, event, event_key AS "eventKey", reply, created_at AS "createdAt"`;

@Injectable()
export class AutoReplyRuleRepository {
  constructor(private readonly sql: Sql) {}

  async create(appid: string, rule: NewAutoReplyRule): Promise<AutoReplyRule> {
    const rows = await this.sql.rows<AutoReplyRule>(
      `INSERT INTO wechat_auto_reply_rules (appid, match_kind, keyword, event, event_key, reply)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb) RETURNING ${COLUMNS}`,
      [appid, rule.matchKind, rule.keyword, rule.event, rule.eventKey, JSON.stringify(rule.reply)],
    );
    return rows[0];
  }

  /** Every rule of every account, oldest first (the order rules of the same kind are tried in). */
  listAll(): Promise<AutoReplyRule[]> {
    return this.sql.rows<AutoReplyRule>(`SELECT ${COLUMNS} FROM wechat_auto_reply_rules ORDER BY created_at, id`);
  }

  /** The rules of one account, oldest first. */
  list(appid: string): Promise<AutoReplyRule[]> {
    return this.sql.rows<AutoReplyRule>(
      `SELECT ${COLUMNS} FROM wechat_auto_reply_rules WHERE appid = $1 ORDER BY created_at, id`,
      [appid],
    );
  }

  async find(appid: string, id: string): Promise<AutoReplyRule | null> {
    const rows = await this.sql.rows<AutoReplyRule>(
      `SELECT ${COLUMNS} FROM wechat_auto_reply_rules WHERE id = $1 AND appid = $2`,
      [id, appid],
    );
    return rows[0] ?? null;
  }

  async delete(appid: string, id: string): Promise<boolean> {
    const rows = await this.sql.rows<{ id: string }>(
      'DELETE FROM wechat_auto_reply_rules WHERE id = $1 AND appid = $2 RETURNING id',
      [id, appid],
    );
    return rows.length > 0;
  }
}
