import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Batcher } from 'src/database/batcher';
import { isDatabaseDownError } from 'src/database/database-errors';
import { Sql } from 'src/database/sql';
import type { MessageKind } from 'src/messaging/dto/send-message';

export type MessageStatus = 'queued' | 'sending' | 'sent' | 'failed';
export type MessageOrigin = 'api' | 'late_reply' | 'forward_reply';

export interface StoredMessage {
  id: string;
  kind: MessageKind;
  appid: string;
  touser: string;
  status: MessageStatus;
  attempts: number;
  lastErrcode: number | null;
  lastErrorCode: string | null;
  lastError: string | null;
  wechatMsgid: string | null;
  origin: MessageOrigin;
  sentAt: Date | null;
  createdAt: Date;
}

/** A row this instance claimed: its body, and the attempt number that fences its outcome. */
export interface ClaimedMessage {
  id: string;
  kind: MessageKind;
  appid: string;
  payload: Record<string, unknown>;
  attempts: number;
}

/** How a try ended: sent, back in the queue at `retryInMs`, or failed for good. */
export type Outcome =
  | { status: 'sent'; msgid?: string }
  | { status: 'queued'; retryInMs: number; errcode: number | null; code: string; error: string }
  | { status: 'failed'; errcode: number | null; code: string; error: string };

const VIEW = `id, kind, appid, touser, status, attempts, last_errcode AS "lastErrcode",
  last_error_code AS "lastErrorCode", last_error AS "lastError", wechat_msgid AS "wechatMsgid", origin,
  sent_at AS "sentAt", created_at AS "createdAt"`;

/**
 * Due rows, oldest due first, claimed for `$2` ms: a queued row whose backoff is over, or a sending row whose lease
 * ran out (its instance died or hung). SKIP LOCKED lets every instance claim at once without waiting on the others.
 */
const CLAIM_SQL = `
  WITH due AS (
    SELECT id FROM wechat_outbound_messages
     WHERE status IN ('queued', 'sending') AND due_at <= now()
     ORDER BY due_at
     LIMIT $1
     FOR UPDATE SKIP LOCKED
  )
  UPDATE wechat_outbound_messages m
     SET status = 'sending', attempts = m.attempts + 1, due_at = now() + $2 * interval '1 millisecond',
         updated_at = now()
    FROM due WHERE m.id = due.id
  RETURNING m.id, m.kind, m.appid, m.payload, m.attempts`;

/**
 * Outcomes of many tries in one statement. A row is only changed while it is still the claim that tried it
 * (`attempts` and `sending`): after a lease ran out and another instance took the row, the late outcome is dropped.
 */
const FINISH_SQL = `
  UPDATE wechat_outbound_messages m
     SET status = t.status,
         due_at = CASE WHEN t.status = 'queued' THEN now() + t.retry_ms * interval '1 millisecond' ELSE m.due_at END,
         last_errcode = CASE WHEN t.status = 'sent' THEN m.last_errcode ELSE t.errcode END,
         last_error_code = CASE WHEN t.status = 'sent' THEN m.last_error_code ELSE t.code END,
         last_error = CASE WHEN t.status = 'sent' THEN m.last_error ELSE t.error END,
         wechat_msgid = COALESCE(t.msgid, m.wechat_msgid),
         sent_at = CASE WHEN t.status = 'sent' THEN now() ELSE m.sent_at END,
         updated_at = now()
    FROM jsonb_to_recordset($1::jsonb)
      AS t(id uuid, attempts integer, status text, retry_ms integer, errcode integer, code text, error text, msgid text)
   WHERE m.id = t.id AND m.attempts = t.attempts AND m.status = 'sending'`;

/** The outbox (`wechat_outbound_messages`): queued messages, their claims with a lease, their outcomes. */
@Injectable()
export class OutboxRepository {
  private readonly outcomes = new Batcher<{ row: ClaimedMessage; outcome: Outcome }, void>(
    (items) => this.finishMany(items),
    { maxBatch: 256, maxInFlight: 2, lingerMs: 2, retrySingly: (error) => !isDatabaseDownError(error) },
  );

  constructor(private readonly sql: Sql) {}

  /**
   * Queues a message; with an idempotency key already used for this appid, queues nothing and answers the first
   * message (`created: false`).
   */
  async insert(message: {
    kind: MessageKind;
    appid: string;
    touser: string;
    payload: Record<string, unknown>;
    idempotencyKey?: string;
    origin: MessageOrigin;
  }): Promise<{ created: boolean; message: StoredMessage }> {
    const id = randomUUID();
    const payload = message.kind === 'template' ? { ...message.payload, client_msg_id: id } : message.payload;
    const rows = await this.sql.rows<StoredMessage>(
      `INSERT INTO wechat_outbound_messages (id, kind, appid, touser, payload, idempotency_key, origin)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT ON CONSTRAINT "UQ_wechat_outbound_messages_idempotency_key" DO NOTHING
       RETURNING ${VIEW}`,
      [
        id,
        message.kind,
        message.appid,
        message.touser,
        JSON.stringify(payload),
        message.idempotencyKey ?? null,
        message.origin,
      ],
    );
    if (rows[0]) {
      return { created: true, message: rows[0] };
    }
    const first = await this.sql.rows<StoredMessage>(
      `SELECT ${VIEW} FROM wechat_outbound_messages WHERE appid = $1 AND idempotency_key = $2`,
      [message.appid, message.idempotencyKey],
    );
    return { created: false, message: first[0] };
  }

  async find(id: string): Promise<StoredMessage | null> {
    const rows = await this.sql.rows<StoredMessage>(`SELECT ${VIEW} FROM wechat_outbound_messages WHERE id = $1`, [id]);
    return rows[0] ?? null;
  }

  /** Newest first; `before` is the id of the last message of the previous page. */
  list(options: { status?: MessageStatus; limit: number; before?: string }): Promise<StoredMessage[]> {
    const params: unknown[] = [options.limit];
    const where: string[] = [];
    if (options.status) {
      params.push(options.status);
      where.push(`status = $${params.length}`);
    }
    if (options.before) {
      params.push(options.before);
      where.push(
        `(created_at, id) < (SELECT created_at, id FROM wechat_outbound_messages WHERE id = $${params.length})`,
      );
    }
    return this.sql.rows<StoredMessage>(
      `SELECT ${VIEW} FROM wechat_outbound_messages ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY created_at DESC, id DESC LIMIT $1`,
      params,
    );
  }

  claim(limit: number, leaseMs: number): Promise<ClaimedMessage[]> {
    return this.sql.prepared<ClaimedMessage>('outbox_claim', CLAIM_SQL, [limit, leaseMs]);
  }

  /** Records how a claimed try ended (written together with other outcomes of the moment). */
  finish(row: ClaimedMessage, outcome: Outcome): Promise<void> {
    return this.outcomes.submit({ row, outcome });
  }

  private async finishMany(items: { row: ClaimedMessage; outcome: Outcome }[]): Promise<void[]> {
    const rows = items
      .map(({ row, outcome }) => ({
        id: row.id,
        attempts: row.attempts,
        status: outcome.status,
        retry_ms: outcome.status === 'queued' ? outcome.retryInMs : null,
        errcode: outcome.status === 'sent' ? null : outcome.errcode,
        code: outcome.status === 'sent' ? null : outcome.code,
        error: outcome.status === 'sent' ? null : outcome.error,
        msgid: outcome.status === 'sent' ? (outcome.msgid ?? null) : null,
      }))
      // The same order in every statement: two in flight never wait on each other's rows in opposite orders.
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    await this.sql.prepared('outbox_finish', FINISH_SQL, [JSON.stringify(rows)]);
    return items.map(() => undefined);
  }
}
