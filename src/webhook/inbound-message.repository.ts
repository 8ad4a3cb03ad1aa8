import { Injectable } from '@nestjs/common';
import { Batcher, firstPerKey } from 'src/database/batcher';
import { isDatabaseDownError } from 'src/database/database-errors';
import { Sql } from 'src/database/sql';
import { dedupeKey, InboundMessage } from 'src/wechat/messages/inbound-message';

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

/** The record of `message`, as a delivery (or the spool's replay) writes it. */
export function inboundRecord(message: InboundMessage, encrypted: boolean): InboundRecord {
  return {
    toUserName: message.toUserName,
    dedupeKey: dedupeKey(message),
    fromUserName: message.fromUserName,
    msgType: message.msgType,
    event: 'event' in message ? message.event : undefined,
    msgId: 'msgId' in message ? message.msgId : undefined,
    createTime: message.createTime,
    fields: message.raw,
    encrypted,
  };
}

export interface ClaimResult {
  /** This delivery recorded the message (it is the first). */
  claimed: boolean;
  /** The reply recorded so far: null while the first delivery is still working on it. */
  reply: string | null;
}

/**
 * How long a claim holds: the delivery that claimed a message answers WeChat by its deadline (REPLY_DEADLINE_MS of
 * webhook.service.ts, the same 4.5 s, counted from its arrival, which is before the claim), and settles the reply by
 * then. A claim still without a reply after that belongs to a delivery that died (or lost the database) before
 * settling: the next delivery of the message takes it over. Counted on the database's clock, so instances' clocks
 * do not matter.
 */
export const CLAIM_LEASE_MS = 4500;

export interface TakeOverResult {
  /** This delivery now holds the claim (a fresh lease): it must run the handlers and settle the reply. */
  taken: boolean;
  /** The reply recorded so far (null while a live delivery still works on it, or once taken). */
  reply: string | null;
}

/**
 * A recorded message's key and reply: of a claim, the row that was there before the batch (a retry's); of a settle,
 * the reply that stands.
 */
interface KeyedReply {
  to_user_name: string;
  dedupe_key: string;
  reply: string | null;
}

const keyOf = (record: InboundRecord): string => `${record.toUserName}\n${record.dedupeKey}`;
const rowKey = (row: Omit<KeyedReply, 'reply'>): string => `${row.to_user_name}\n${row.dedupe_key}`;

/** The message's fields that have columns of their own: not stored twice. */
const FIELDS_IN_COLUMNS = new Set(['ToUserName', 'FromUserName', 'CreateTime', 'MsgType', 'Event', 'MsgId']);

/** The fields to keep in `fields`: all but those in columns (a third of PostgreSQL's work per row went to them). */
function otherFields(fields: Record<string, string>): Record<string, string> {
  const other: Record<string, string> = {};
  for (const name of Object.keys(fields)) {
    if (!FIELDS_IN_COLUMNS.has(name)) {
      other[name] = fields[name];
    }
  }
  return other;
}

/** The settled reply of the message `alias` names (its to_user_name and dedupe_key), or null: a lookup by key. */
const SETTLED_REPLY = (alias: string): string =>
  `(SELECT r.reply FROM wechat_inbound_replies r
     WHERE r.to_user_name = ${alias}.to_user_name AND r.dedupe_key = ${alias}.dedupe_key)`;

/**
 * Records many messages in one statement (one commit): each row inserted, or the existing row of its key left as it
 * is. The batch travels as one JSON array (cheaper to encode than ten typed arrays). Only the rows that were already
 * there come back (a retry's: `xmax = 0` tells a new row), with the reply recorded so far — in the row, or settled
 * into `wechat_inbound_replies` — so the usual batch returns nothing to parse. `DO UPDATE` (a no-op) rather than `DO
 * NOTHING`: it waits for and locks a row another instance is inserting at the same moment, and returns it.
 */
const CLAIM_SQL = `
  WITH written AS (
    INSERT INTO wechat_inbound_messages AS m
      (to_user_name, dedupe_key, from_user_name, msg_type, event, msg_id, wechat_create_time, fields, encrypted, reply,
       replied_at, lease_until)
    SELECT t.to_user_name, t.dedupe_key, t.from_user_name, t.msg_type, t.event, t.msg_id, t.create_time, t.fields,
           t.encrypted, t.reply, CASE WHEN t.reply IS NULL THEN NULL ELSE now() END,
           CASE WHEN t.reply IS NULL THEN now() + interval '${CLAIM_LEASE_MS} milliseconds' END
      FROM jsonb_to_recordset($1::jsonb)
        AS t(to_user_name text, dedupe_key text, from_user_name text, msg_type text, event text, msg_id text,
             create_time bigint, fields jsonb, encrypted boolean, reply text)
    ON CONFLICT ON CONSTRAINT "PK_wechat_inbound_messages" DO UPDATE SET dedupe_key = m.dedupe_key
    RETURNING m.to_user_name, m.dedupe_key, m.reply, (m.xmax = 0) AS inserted
  )
  SELECT w.to_user_name, w.dedupe_key, COALESCE(w.reply, ${SETTLED_REPLY('w')}) AS reply FROM written w WHERE NOT inserted`;

/**
 * Replies of many claimed messages in one statement: an INSERT, never an UPDATE of the message's row (see
 * InboundReplies1764330000000 for what that saves). A message replied already keeps its reply: its key is not
 * returned, and `STANDING_SQL` reads the reply that stands. No join, so a prepared plan cannot go stale as the table
 * grows.
 */
const SETTLE_SQL = `
  INSERT INTO wechat_inbound_replies AS r (to_user_name, dedupe_key, reply)
  SELECT t.to_user_name, t.dedupe_key, t.reply
    FROM jsonb_to_recordset($1::jsonb) AS t(to_user_name text, dedupe_key text, reply text)
  ON CONFLICT ON CONSTRAINT "PK_wechat_inbound_replies" DO NOTHING
  RETURNING r.to_user_name, r.dedupe_key`;

/** The replies that stand for keys a settle found replied already (rare: a takeover's settle, or a late one). */
const STANDING_SQL = `
  SELECT t.to_user_name, t.dedupe_key, COALESCE(m.reply, ${SETTLED_REPLY('t')}) AS reply
    FROM jsonb_to_recordset($1::jsonb) AS t(to_user_name text, dedupe_key text)
    LEFT JOIN wechat_inbound_messages m ON m.to_user_name = t.to_user_name AND m.dedupe_key = t.dedupe_key`;

/**
 * Inbound messages, recorded once: the primary key (to_user_name, dedupe_key) is where WeChat's retries meet. Claims
 * made at the same time are written together (a group commit): at 50 concurrent deliveries that is one statement and
 * one commit for a dozen or more messages instead of one each.
 */
@Injectable()
export class InboundMessageRepository {
  private readonly claims = new Batcher<{ record: InboundRecord; reply: string | null }, ClaimResult>(
    (items) => this.claimMany(items),
    { maxBatch: 256, maxInFlight: 2, lingerMs: 1, retrySingly: (error) => !isDatabaseDownError(error) },
  );
  private readonly settles = new Batcher<{ record: InboundRecord; reply: string }, string>(
    (items) => this.settleMany(items),
    { maxBatch: 256, maxInFlight: 2, lingerMs: 1, retrySingly: (error) => !isDatabaseDownError(error) },
  );

  constructor(private readonly sql: Sql) {}

  /**
   * Records the message, or finds the earlier delivery of it. The first delivery claims it (and must settle the
   * reply, unless it is given here already); a retry, here or on another instance, gets the row and whatever reply
   * it has so far.
   */
  claim(record: InboundRecord, reply: string | null = null): Promise<ClaimResult> {
    return this.claims.submit({ record, reply });
  }

  private async claimMany(items: { record: InboundRecord; reply: string | null }[]): Promise<ClaimResult[]> {
    // A second delivery of a key in the same batch is a retry of the first.
    const { first: unique, rows } = firstPerKey(items, (item) => keyOf(item.record));
    const earlier = await this.sql.prepared<KeyedReply>('webhook_claim', CLAIM_SQL, [
      JSON.stringify(
        rows.map(({ record, reply }) => ({
          to_user_name: record.toUserName,
          dedupe_key: record.dedupeKey,
          from_user_name: record.fromUserName,
          msg_type: record.msgType,
          event: record.event ?? null,
          msg_id: record.msgId ?? null,
          create_time: record.createTime,
          fields: otherFields(record.fields),
          encrypted: record.encrypted,
          reply,
        })),
      ),
    ]);
    const earlierByKey = new Map(earlier.map((row) => [rowKey(row), row]));
    return items.map((item) => {
      const key = keyOf(item.record);
      const row = earlierByKey.get(key);
      if (row) {
        return { claimed: false, reply: row.reply };
      }
      // Inserted by this batch, with the values of the first delivery of its key in the batch (which gave its reply).
      const first = unique.get(key)!;
      return { claimed: first === item, reply: first.reply };
    });
  }

  /**
   * Sets the reply once; returns the reply that stands (an earlier one wins, e.g. `success` after the deadline).
   * Settles of the moment go in one statement, as claims do.
   */
  settleReply(record: InboundRecord, reply: string): Promise<string> {
    return this.settles.submit({ record, reply });
  }

  private async settleMany(items: { record: InboundRecord; reply: string }[]): Promise<string[]> {
    // The first settle of a key in the batch writes.
    const { first: unique, rows } = firstPerKey(items, (item) => keyOf(item.record));
    const keyed = rows.map(({ record, reply }) => ({
      to_user_name: record.toUserName,
      dedupe_key: record.dedupeKey,
      reply,
    }));
    const written = await this.sql.prepared<Omit<KeyedReply, 'reply'>>('webhook_settle', SETTLE_SQL, [
      JSON.stringify(keyed),
    ]);
    const byKey = new Map<string, string | null>();
    if (written.length < keyed.length) {
      const settled = new Set(written.map(rowKey));
      const replied = keyed
        .filter((row) => !settled.has(rowKey(row)))
        .map(({ to_user_name, dedupe_key }) => ({ to_user_name, dedupe_key }));
      for (const row of await this.sql.rows<KeyedReply>(STANDING_SQL, [JSON.stringify(replied)])) {
        byKey.set(rowKey(row), row.reply);
      }
    }
    return items.map((item) => {
      const key = keyOf(item.record);
      return byKey.get(key) ?? unique.get(key)!.reply;
    });
  }

  /**
   * Takes over a claim whose lease has run out (its delivery is past its deadline without a reply), or reads the reply
   * so far. One conditional UPDATE: of deliveries trying at once, on any instances, the row lock lets exactly one
   * through; the others re-check the condition against the new lease and find it held. A row claimed before leases
   * existed (`lease_until` null) counts as run out. A settle does not lock the message's row, so one committing in
   * the same instant as a takeover can be missed by it; the takeover then works the reply out again, and the settle
   * that came first stands (as for a takeover just before a late settle).
   */
  async takeOver(record: InboundRecord): Promise<TakeOverResult> {
    const rows = await this.sql.prepared<{ taken: boolean; reply: string | null }>(
      'webhook_take_over',
      `WITH taken AS (
         UPDATE wechat_inbound_messages m SET lease_until = now() + interval '${CLAIM_LEASE_MS} milliseconds'
          WHERE to_user_name = $1 AND dedupe_key = $2 AND reply IS NULL
            AND (lease_until IS NULL OR lease_until <= now())
            AND ${SETTLED_REPLY('m')} IS NULL
         RETURNING reply
       )
       SELECT true AS taken, NULL::text AS reply FROM taken
       UNION ALL
       SELECT false AS taken, COALESCE(m.reply, ${SETTLED_REPLY('m')}) AS reply FROM wechat_inbound_messages m
        WHERE to_user_name = $1 AND dedupe_key = $2 AND NOT EXISTS (SELECT 1 FROM taken)`,
      [record.toUserName, record.dedupeKey],
    );
    return rows[0] ?? { taken: false, reply: null };
  }

  /**
   * True when a subscribe or unsubscribe of the same follower with a later CreateTime is already recorded: the older
   * event must not change the follower's state then (a replay or a takeover can run it after the newer one).
   */
  async hasNewerFollowEvent(
    record: Pick<InboundRecord, 'toUserName' | 'fromUserName' | 'createTime'>,
  ): Promise<boolean> {
    const rows = await this.sql.prepared(
      'webhook_newer_follow_event',
      `SELECT 1 FROM wechat_inbound_messages
        WHERE to_user_name = $1 AND from_user_name = $2 AND wechat_create_time > $3
          AND event IN ('subscribe', 'unsubscribe')
        LIMIT 1`,
      [record.toUserName, record.fromUserName, record.createTime],
    );
    return rows.length > 0;
  }
}
