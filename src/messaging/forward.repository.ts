import { Injectable } from '@nestjs/common';
import { Batcher, firstPerKey } from 'src/database/batcher';
import { isDatabaseDownError } from 'src/database/database-errors';
import { Sql } from 'src/database/sql';

export interface NewForward {
  id: string;
  appid: string;
  toUserName: string;
  dedupeKey: string;
  openid: string;
  url: string;
  body: string;
  replyWanted: boolean;
}

/** A forward claimed for a try: what to send, and the attempt number that fences its outcome. */
export interface ClaimedForward {
  id: string;
  appid: string;
  openid: string;
  url: string;
  body: string;
  replyWanted: boolean;
  attempts: number;
}

export type ForwardOutcome =
  | { status: 'delivered' }
  | { status: 'pending'; retryInMs: number; error: string }
  | { status: 'failed'; error: string };

/**
 * What a forward's row says when it is written: its first try still under way (`delivering`, leased for `leaseMs`),
 * or that try's outcome.
 */
export type FirstTry = { status: 'delivering'; leaseMs: number } | ForwardOutcome;

/**
 * New forwards of the moment in one statement, each with its first try (attempt 1) as `FirstTry` says: `due_ms` is
 * the lease of a try under way or the wait before the next. The unique key is the inbound record's: a message
 * already forwarded gets no second row (not returned).
 */
const INSERT_SQL = `
  INSERT INTO wechat_forwards (id, appid, to_user_name, dedupe_key, openid, url, body, reply_wanted, status, attempts,
                               due_at, last_error, delivered_at)
  SELECT t.id, t.appid, t.to_user_name, t.dedupe_key, t.openid, t.url, t.body, t.reply_wanted, t.status, 1,
         now() + t.due_ms * interval '1 millisecond', t.error, CASE WHEN t.status = 'delivered' THEN now() END
    FROM jsonb_to_recordset($1::jsonb)
      AS t(id uuid, appid text, to_user_name text, dedupe_key text, openid text, url text, body text,
           reply_wanted boolean, status text, due_ms integer, error text)
  ON CONFLICT ON CONSTRAINT "UQ_wechat_forwards_message" DO NOTHING
  RETURNING id`;

const CLAIM_SQL = `
  WITH due AS (
    SELECT id FROM wechat_forwards
     WHERE status IN ('pending', 'delivering') AND due_at <= now()
     ORDER BY due_at
     LIMIT $1
     FOR UPDATE SKIP LOCKED
  )
  UPDATE wechat_forwards f
     SET status = 'delivering', attempts = f.attempts + 1, due_at = now() + $2 * interval '1 millisecond'
    FROM due WHERE f.id = due.id
  RETURNING f.id, f.appid, f.openid, f.url, f.body, f.reply_wanted AS "replyWanted", f.attempts`;

/** Only the claim that made the try may record it: a forward taken over after its lease keeps the new claim's. */
const FINISH_SQL = `
  UPDATE wechat_forwards f
     SET status = t.status,
         due_at = CASE WHEN t.status = 'pending' THEN now() + t.retry_ms * interval '1 millisecond' ELSE f.due_at END,
         last_error = t.error,
         delivered_at = CASE WHEN t.status = 'delivered' THEN now() ELSE NULL END
    FROM jsonb_to_recordset($1::jsonb) AS t(id uuid, attempts integer, status text, retry_ms integer, error text)
   WHERE f.id = t.id AND f.attempts = t.attempts AND f.status = 'delivering'`;

/** Forwards to the teams' backends (`wechat_forwards`): once per inbound message, retried from here. */
@Injectable()
export class ForwardRepository {
  private readonly inserts = new Batcher<{ forward: NewForward; first: FirstTry }, boolean>(
    (items) => this.insertMany(items),
    { maxBatch: 256, maxInFlight: 2, lingerMs: 1, retrySingly: (error) => !isDatabaseDownError(error) },
  );
  private readonly outcomes = new Batcher<{ id: string; attempts: number; outcome: ForwardOutcome }, void>(
    (items) => this.finishMany(items),
    { maxBatch: 256, maxInFlight: 2, lingerMs: 2, retrySingly: (error) => !isDatabaseDownError(error) },
  );

  constructor(private readonly sql: Sql) {}

  /** Records the forward with its first try; false when the message has a forward already. */
  insert(forward: NewForward, first: FirstTry): Promise<boolean> {
    return this.inserts.submit({ forward, first });
  }

  claim(limit: number, leaseMs: number): Promise<ClaimedForward[]> {
    return this.sql.prepared<ClaimedForward>('forward_claim', CLAIM_SQL, [limit, leaseMs]);
  }

  finish(id: string, attempts: number, outcome: ForwardOutcome): Promise<void> {
    return this.outcomes.submit({ id, attempts, outcome });
  }

  private async insertMany(items: { forward: NewForward; first: FirstTry }[]): Promise<boolean[]> {
    // One row per message (the first forward of it in the batch), in key order.
    const keyOf = ({ forward }: { forward: NewForward }) => `${forward.toUserName}\n${forward.dedupeKey}`;
    const { first: chosen, rows: unique } = firstPerKey(items, keyOf);
    const rows = unique.map(({ forward, first }) => ({
      id: forward.id,
      appid: forward.appid,
      to_user_name: forward.toUserName,
      dedupe_key: forward.dedupeKey,
      openid: forward.openid,
      url: forward.url,
      body: forward.body,
      reply_wanted: forward.replyWanted,
      status: first.status,
      due_ms: first.status === 'delivering' ? first.leaseMs : first.status === 'pending' ? first.retryInMs : 0,
      error: first.status === 'pending' || first.status === 'failed' ? first.error : null,
    }));
    const inserted = await this.sql.prepared<{ id: string }>('forward_insert', INSERT_SQL, [JSON.stringify(rows)]);
    const ids = new Set(inserted.map((row) => row.id));
    // A second forward of a message in the batch has the same id, but it is not the one that was written.
    return items.map((item) => chosen.get(keyOf(item)) === item && ids.has(item.forward.id));
  }

  private async finishMany(items: { id: string; attempts: number; outcome: ForwardOutcome }[]): Promise<void[]> {
    const rows = items
      .map(({ id, attempts, outcome }) => ({
        id,
        attempts,
        status: outcome.status,
        retry_ms: outcome.status === 'pending' ? outcome.retryInMs : null,
        error: outcome.status === 'delivered' ? null : outcome.error,
      }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    await this.sql.prepared('forward_finish', FINISH_SQL, [JSON.stringify(rows)]);
    return items.map(() => undefined);
  }
}
