import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { queryRows } from 'src/database/sql-runner';

export interface InboundRecord {
  toUserName: string;
  dedupeKey: string;
  fromUserName: string;
  msgType: string;
  event?: string;
  msgId?: string;
  createTime: number;
  fields: Record<string, string>;
  encrypted: boolean;
}

export interface ClaimResult {
  /** This delivery recorded the message (it is the first). */
  claimed: boolean;
  id: string;
  /** The reply recorded so far: null while the first delivery is still working on it. */
  reply: string | null;
}

/** Inbound messages, recorded once: the unique (to_user_name, dedupe_key) is where WeChat's retries meet. */
@Injectable()
export class InboundMessageRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Records the message, or finds the earlier delivery of it, in one statement. The first delivery claims it (and
   * must settle the reply, unless it is given here already); a retry, here or on another instance, gets the row and
   * whatever reply it has so far.
   */
  async claim(record: InboundRecord, reply: string | null = null): Promise<ClaimResult> {
    const rows = await queryRows<{ id: string; reply: string | null; inserted: boolean }>(
      this.dataSource,
      `INSERT INTO wechat_inbound_messages AS m
         (to_user_name, dedupe_key, from_user_name, msg_type, event, msg_id, wechat_create_time, fields, encrypted,
          reply, replied_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, CASE WHEN $10::text IS NULL THEN NULL ELSE now() END)
       ON CONFLICT ON CONSTRAINT "UQ_wechat_inbound_messages_to_user_dedupe_key"
         DO UPDATE SET dedupe_key = m.dedupe_key
       RETURNING m.id, m.reply, (m.xmax = 0) AS inserted`,
      [
        record.toUserName,
        record.dedupeKey,
        record.fromUserName,
        record.msgType,
        record.event ?? null,
        record.msgId ?? null,
        record.createTime,
        JSON.stringify(record.fields),
        record.encrypted,
        reply,
      ],
    );
    const row = rows[0];
    return { claimed: row.inserted, id: row.id, reply: row.reply };
  }

  /** Sets the reply once; returns the reply that stands (an earlier one wins, e.g. `success` after the deadline). */
  async settleReply(id: string, reply: string): Promise<string> {
    const rows = await queryRows<{ reply: string }>(
      this.dataSource,
      `WITH updated AS (
         UPDATE wechat_inbound_messages SET reply = $2, replied_at = now() WHERE id = $1 AND reply IS NULL
         RETURNING reply
       )
       SELECT reply FROM updated
       UNION ALL
       SELECT reply FROM wechat_inbound_messages WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM updated)`,
      [id, reply],
    );
    return rows[0]?.reply ?? reply;
  }

  async findReply(id: string): Promise<string | null> {
    const rows = await queryRows<{ reply: string | null }>(
      this.dataSource,
      'SELECT reply FROM wechat_inbound_messages WHERE id = $1',
      [id],
    );
    return rows[0]?.reply ?? null;
  }
}
