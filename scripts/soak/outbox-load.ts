/**
 * The soak's outbox load and its invariants "every queued message sent once or failed with a reason; none left
 * queued". Messages are POSTed to /admin/messages, each with an idempotency key, as a careful caller does: a POST
 * without an answer (a killed instance) or answered 503 (the outage) is sent again with the same key, and some are
 * POSTed twice on purpose. Mostly template messages (no 48-hour window); some customer-service texts to the three
 * followers who write all the time; some to followers the emulator refuses, which must end `failed` with the errcode.
 *
 * Duplicates: delivery is at least once (README, "Retry and failure policy"): WeChat may accept a message whose
 * `sent` the instance never committed — killed between WeChat's answer and the commit, or PostgreSQL gone at that
 * moment — and the row is tried again when its lease lapses. The rule here: a send repeated after WeChat accepted it
 * is excused when WeChat's acceptance lies within FAULT_SLACK_MS of a SIGKILL, or between FAULT_SLACK_MS before the
 * PostgreSQL stop and FAULT_SLACK_MS after its start; any other repeat breaks the invariant. Repeats of template
 * messages carry the same `client_msg_id` (the message id), which WeChat (and the emulator) accepts without a second
 * message, so a follower gets a second copy only of a repeated customer-service message.
 */
import type { Pool } from 'pg';
import type { FakeWeChat } from 'test/fake-wechat/fake-wechat.server';
import { refuseMessagesTo, sentMessages } from 'test/fake-wechat/routes/message.routes';
import { ADMIN_KEY } from 'test/support/create-test-app';
import {
  Check,
  drainQueue,
  examples,
  FaultLog,
  nearFault,
  pick,
  sleep,
  SoakContext,
  WRITERS,
} from 'scripts/soak/types';

const LOOPS = 2;
/** Followers the emulator refuses every message to, and with what. */
const REFUSED: readonly { touser: string; errcode: number }[] = [
  { touser: 'o-refused-43004', errcode: 43004 },
  { touser: 'o-refused-40003', errcode: 40003 },
];
const FAULT_SLACK_MS = 5000;
/** How long the queue may take to empty after the load: retries after a kill wait for the lease (9 s) and 5 s backoff. */
const DRAIN_MS = 180_000;

interface Post {
  status?: number;
  id?: string;
  at: number;
}

interface Message {
  key: string;
  kind: 'template' | 'custom';
  touser: string;
  /** The errcode the emulator refuses it with; undefined: it must be sent. */
  refusedWith?: number;
  body: Record<string, unknown>;
  posts: Post[];
  /** POSTed a second time on purpose, after the first was answered. */
  doubled: boolean;
}

interface Row {
  id: string;
  idempotency_key: string | null;
  kind: string;
  touser: string;
  status: string;
  attempts: number;
  last_errcode: number | null;
  last_error_code: string | null;
  origin: string;
}

export class OutboxLoad {
  readonly messages: Message[] = [];
  private serial = 0;
  private drainMs = 0;

  constructor(private readonly ctx: SoakContext) {}

  static prepare(fake: FakeWeChat): void {
    for (const { touser, errcode } of REFUSED) {
      refuseMessagesTo(fake, touser, errcode);
    }
  }

  loops(): Promise<void>[] {
    return Array.from({ length: LOOPS }, () => this.loop());
  }

  private async loop(): Promise<void> {
    while (!this.ctx.stopping()) {
      this.serial += 1;
      const key = `soak-msg-${this.serial}`;
      // Customer-service messages once the writers have written (their activity is recorded in the background).
      const custom = this.ctx.elapsed() > 10_000 && Math.random() < 0.15;
      const refusal = !custom && Math.random() < 0.12 ? pick(REFUSED) : undefined;
      const touser = custom ? pick(WRITERS) : (refusal?.touser ?? `o-soak-fan-${Math.floor(Math.random() * 40)}`);
      const body: Record<string, unknown> = custom
        ? { kind: 'custom', touser, msgtype: 'text', text: { content: `soak ${key}` }, idempotencyKey: key }
        : {
            kind: 'template',
            touser,
            templateId: 'TPL_SOAK_NOTICE',
            data: { thing1: { value: `soak ${this.serial}` } },
            idempotencyKey: key,
          };
      const message: Message = {
        key,
        kind: custom ? 'custom' : 'template',
        touser,
        refusedWith: refusal?.errcode,
        body,
        posts: [],
        doubled: false,
      };
      this.messages.push(message);
      await this.post(message);
      if (Math.random() < 0.15 && !this.ctx.stopping()) {
        message.doubled = true;
        await sleep(Math.random() * 1500);
        await this.post(message);
      }
      await sleep(100 + Math.random() * 200);
    }
  }

  /** POSTs the message until it is answered other than 503 (a caller's own retries, with the same key). */
  private async post(message: Message): Promise<void> {
    for (let attempt = 0; attempt < 30; attempt += 1) {
      const at = Date.now();
      const res = await this.ctx.request('message', '/admin/messages', {
        method: 'POST',
        headers: { 'x-admin-key': ADMIN_KEY, 'content-type': 'application/json' },
        body: JSON.stringify(message.body),
      });
      if (res && res.status !== 503) {
        const answer = (await res.json().catch(() => ({}))) as { id?: string };
        message.posts.push({ status: res.status, id: answer.id, at });
        return;
      }
      message.posts.push({ status: res?.status, at });
      await sleep(1000);
    }
  }

  /** Waits until no message is queued or sending (or DRAIN_MS passed); answers how many are left. */
  async drain(pool: Pool): Promise<number> {
    const { left, ms } = await drainQueue(
      pool,
      `SELECT count(*) AS left FROM wechat_outbound_messages WHERE status IN ('queued', 'sending')`,
      DRAIN_MS,
    );
    this.drainMs = ms;
    return left;
  }

  async check(pool: Pool, check: Check, faults: FaultLog): Promise<string> {
    const left = await this.drain(pool);
    const rows = (
      await pool.query<Row>(
        `SELECT id, idempotency_key, kind, touser, status, attempts, last_errcode, last_error_code, origin
           FROM wechat_outbound_messages`,
      )
    ).rows;
    check(
      left === 0,
      `no message left queued or sending after the drain (${rows.length} messages, left: ${left}, drained in ${(this.drainMs / 1000).toFixed(0)} s)`,
    );
    const reasonless = rows.filter(
      (r) => (r.status !== 'sent' && r.status !== 'failed') || (r.status === 'failed' && !r.last_error_code),
    );
    check(
      reasonless.length === 0,
      `every message ended sent, or failed with a reason (all origins; ${rows.filter((r) => r.status === 'sent').length} sent, ` +
        `${rows.filter((r) => r.status === 'failed').length} failed; otherwise: ${reasonless.length})`,
    );

    const byKey = new Map<string, Row[]>();
    for (const row of rows) {
      if (row.idempotency_key?.startsWith('soak-msg-')) {
        byKey.set(row.idempotency_key, [...(byKey.get(row.idempotency_key) ?? []), row]);
      }
    }
    const accepted = this.posted();
    const unqueued = this.messages.filter((m) => !byKey.has(m.key));
    const unqueuedButAnswered = unqueued.filter((m) => accepted.includes(m));
    const splitKeys = this.messages.filter((m) => {
      const ids = new Set([
        ...m.posts.filter((p) => p.id).map((p) => p.id),
        ...(byKey.get(m.key) ?? []).map((r) => r.id),
      ]);
      return ids.size > 1;
    });
    // A 409 (outside_window) is a customer-service message's only allowed refusal; anything else is a bad request.
    const refusedByApi = this.messages.filter((m) =>
      m.posts.some(
        (p) =>
          p.status !== undefined && p.status >= 400 && p.status < 500 && !(p.status === 409 && m.kind === 'custom'),
      ),
    );
    const doubled = this.messages.filter((m) => m.doubled && m.posts.some((p) => p.status === 202));
    const doubleNot200 = doubled.filter((m) => m.posts.at(-1)?.status !== 200);
    check(
      unqueuedButAnswered.length === 0 &&
        splitKeys.length === 0 &&
        doubleNot200.length === 0 &&
        refusedByApi.length === 0,
      `one message per idempotency key: every 202 is queued, every POST of a key answered the same id, a second POST is a 200 ` +
        `(${accepted.length} keys answered, ${doubled.length} POSTed twice; lost: ${unqueuedButAnswered.length}, ` +
        `two ids: ${splitKeys.length}, second POST not 200: ${doubleNot200.length}, refused by the API: ${refusedByApi.length})`,
    );

    // What the emulator accepted, per message: templates by client_msg_id (= the message id), texts by their content.
    const acceptedTemplates = new Map<string, number[]>();
    const acceptedTexts = new Map<string, number[]>();
    for (const sent of sentMessages(this.ctx.fake)) {
      if (sent.kind === 'template' && typeof sent.body.client_msg_id === 'string') {
        const id = sent.body.client_msg_id;
        acceptedTemplates.set(id, [...(acceptedTemplates.get(id) ?? []), sent.at]);
      } else if (sent.kind === 'custom') {
        const content = (sent.body.text as { content?: string } | undefined)?.content;
        if (content?.startsWith('soak soak-msg-')) {
          const key = content.slice('soak '.length);
          acceptedTexts.set(key, [...(acceptedTexts.get(key) ?? []), sent.at]);
        }
      }
    }
    const templateCalls = new Map<string, number[]>();
    for (const call of this.ctx.fake.callsTo('/cgi-bin/message/template/send')) {
      const id = (call.body as { client_msg_id?: string } | undefined)?.client_msg_id;
      if (id) {
        templateCalls.set(id, [...(templateCalls.get(id) ?? []), call.at]);
      }
    }

    const wrongEnd: string[] = [];
    const repeats: { key: string; acceptedAt: number; excused: boolean; copy: boolean }[] = [];
    const counted = { sent: 0, failed: new Map<number, number>(), retried: 0 };
    for (const message of this.messages) {
      const row = byKey.get(message.key)?.[0];
      if (!row) {
        continue;
      }
      if (row.attempts > 1) {
        counted.retried += 1;
      }
      const times =
        message.kind === 'template' ? (acceptedTemplates.get(row.id) ?? []) : (acceptedTexts.get(message.key) ?? []);
      if (message.refusedWith !== undefined) {
        if (row.status !== 'failed' || row.last_errcode !== message.refusedWith || times.length > 0) {
          wrongEnd.push(
            `${message.key}: ${row.status} ${row.last_errcode ?? ''} (expected failed ${message.refusedWith})`,
          );
        } else {
          counted.failed.set(message.refusedWith, (counted.failed.get(message.refusedWith) ?? 0) + 1);
        }
        continue;
      }
      if (row.status !== 'sent' || times.length === 0) {
        wrongEnd.push(`${message.key}: ${row.status} ${row.last_error_code ?? ''}, accepted ${times.length}×`);
        continue;
      }
      counted.sent += 1;
      const acceptedAt = times[0];
      const excused = nearFault(faults, acceptedAt, FAULT_SLACK_MS);
      if (message.kind === 'custom') {
        for (let i = 1; i < times.length; i += 1) {
          repeats.push({ key: message.key, acceptedAt, excused, copy: true });
        }
      } else {
        for (const at of templateCalls.get(row.id) ?? []) {
          if (at > acceptedAt) {
            repeats.push({ key: message.key, acceptedAt, excused, copy: false });
          }
        }
      }
    }
    const expectedSent = this.messages.filter((m) => byKey.has(m.key) && m.refusedWith === undefined).length;
    check(
      wrongEnd.length === 0,
      `every queued message ended as it must: sent and accepted by WeChat, or failed with the refusal's errcode ` +
        `(${counted.sent} of ${expectedSent} sent; failed ${[...counted.failed].map(([e, n]) => `${e}×${n}`).join(' ') || 'none'}; ` +
        `wrong: ${wrongEnd.length}${examples(wrongEnd, '; ')})`,
    );
    const unexcused = repeats.filter((r) => !r.excused);
    check(
      unexcused.length === 0,
      `sent once: no send repeated after WeChat accepted it, but around a fault (${repeats.length} repeats: ` +
        `${repeats.filter((r) => r.copy).length} second copies of texts, ${repeats.filter((r) => !r.copy).length} template ` +
        `re-sends absorbed by client_msg_id; outside a fault window: ${unexcused.length}${examples(unexcused.map((r) => r.key))})`,
    );
    const posts = this.messages.flatMap((m) => m.posts);
    const status = (s?: number) => posts.filter((p) => p.status === s).length;
    return (
      `outbox: ${this.messages.length} messages (${this.messages.filter((m) => m.kind === 'template').length} template, ` +
      `${this.messages.filter((m) => m.kind === 'custom').length} customer-service, ` +
      `${this.messages.filter((m) => m.refusedWith !== undefined).length} to refused followers), ${posts.length} POSTs ` +
      `(202×${status(202)} 200×${status(200)} 409×${status(409)} 503×${status(503)} no answer×${status(undefined)}), ` +
      `${unqueued.length} never queued (no POST answered), ${counted.retried} sent after more than one try, ` +
      `${rows.filter((r) => r.origin !== 'api').length} late replies queued by the webhook`
    );
  }

  /** The messages whose key a POST answered with an id (202 or 200). */
  private posted(): Message[] {
    return this.messages.filter((m) => m.posts.some((p) => p.id && (p.status === 202 || p.status === 200)));
  }
}
