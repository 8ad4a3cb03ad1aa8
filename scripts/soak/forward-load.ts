/**
 * The soak's forwarding to the team's backend, and its invariants. Every instance forwards the official account's
 * messages to one backend (the sandbox's TeamBackend, in this process): it checks each signature, echoes a text at
 * once as its reply, answers an event with no reply, and refuses the first try of one message in ten with a 503, so
 * that retries from PostgreSQL (10 s, 30 s, … later) run under the kills and the outage too. Their replies come late
 * and go out through the outbox, whose own check sees them end sent.
 *
 * Invariants, after the forwards are drained:
 * - every delivery answered 200 was forwarded, and one of its forwards was answered 2xx by the backend;
 * - every forward's signature holds, and every forward of one message carries one `id`;
 * - WeChat's retries are not forwarded again: a message is forwarded again after a 2xx only when that 2xx lies within
 *   FAULT_SLACK_MS of a SIGKILL (killed between the 2xx and recording it: README, "Forwarding") or of the PostgreSQL
 *   stop (the reply could not be recorded), and the repeat carries the same `id`;
 * - no forward is left delivering or pending.
 */
import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import { forwardedKey, TeamBackend } from 'test/fake-wechat/team-backend';
import { Check, Delivery, drainQueue, examples, FaultLog, nearFault } from 'scripts/soak/types';

const SECRET = 'soak-forward-secret-0123456789';
const FAULT_SLACK_MS = 5000;
/** Long enough for a refused first try's retry (10 s), and one more after a kill took its lease (30 s). */
const DRAIN_MS = 120_000;

interface Forward {
  key: string;
  id: string;
  at: number;
  status: number;
}

/** One message in ten, always the same ones: refused on its first try. */
const refusedFirst = (key: string): boolean => createHash('sha256').update(key).digest()[0] % 10 === 0;

export class ForwardLoad {
  private readonly backend = new TeamBackend(SECRET);
  private readonly forwards: Forward[] = [];
  /** The messages forwarded at least once. */
  private readonly seen = new Set<string>();
  private drainMs = 0;

  constructor() {
    this.backend.behaviour = (body) => {
      const key = forwardedKey(body);
      const status = !this.seen.has(key) && refusedFirst(key) ? 503 : 200;
      this.seen.add(key);
      this.forwards.push({ key, id: String(body.id), at: Date.now(), status });
      const fields = (body.fields ?? {}) as Record<string, string>;
      return body.msgType === 'text' && status === 200
        ? { status, body: { reply: { type: 'text', content: `后端收到：${fields.Content ?? ''}` } } }
        : { status, body: {} };
    };
  }

  /** Starts the backend; returns the instances' variables that forward to it. */
  async start(): Promise<Record<string, string>> {
    await this.backend.start();
    return { WECHAT_OA_FORWARD_URL: this.backend.url, FORWARD_SECRET: SECRET };
  }

  stop(): Promise<void> {
    return this.backend.stop();
  }

  /** Waits until no forward is delivering or pending (or DRAIN_MS has passed); returns how many are left. */
  async drain(pool: Pool): Promise<number> {
    const { left, ms } = await drainQueue(
      pool,
      `SELECT count(*) AS left FROM wechat_forwards WHERE status IN ('delivering', 'pending')`,
      DRAIN_MS,
    );
    this.drainMs = ms;
    return left;
  }

  async check(pool: Pool, check: Check, deliveries: Delivery[], faults: FaultLog): Promise<string> {
    const left = await this.drain(pool);
    const rows = (
      await pool.query<{ status: string; n: string }>(
        `SELECT status, count(*) AS n FROM wechat_forwards GROUP BY status ORDER BY status`,
      )
    ).rows;
    check(
      left === 0,
      `no forward left delivering or pending after the drain (rows: ${rows.map((r) => `${r.status}×${r.n}`).join(' ') || 'none'}, drained in ${(this.drainMs / 1000).toFixed(0)} s)`,
    );

    const byKey = new Map<string, Forward[]>();
    for (const forward of this.forwards) {
      const forwards = byKey.get(forward.key);
      if (forwards) {
        forwards.push(forward);
      } else {
        byKey.set(forward.key, [forward]);
      }
    }
    const acknowledged = deliveries.filter((d) => d.tries.some((t) => t.status === 200));
    const unforwarded = acknowledged.filter((d) => !byKey.get(d.key)?.some((f) => f.status === 200));
    check(
      unforwarded.length === 0,
      `every delivery answered 200 was forwarded and answered 2xx by the backend (${acknowledged.length} deliveries; ` +
        `not: ${unforwarded.length}${examples(unforwarded.map((d) => d.key))})`,
    );

    const forged = this.backend.received.filter((received) => !received.signatureValid).length;
    const twoIds = [...byKey.values()].filter((forwards) => new Set(forwards.map((f) => f.id)).size > 1);
    check(
      forged === 0 && twoIds.length === 0,
      `every forward signed, every message under one id (${this.forwards.length} forwards of ${byKey.size} messages; ` +
        `bad signatures: ${forged}, messages with two ids: ${twoIds.length})`,
    );

    const again: { key: string; excused: boolean }[] = [];
    for (const [key, forwards] of byKey) {
      const firstOk = forwards.find((f) => f.status === 200);
      if (!firstOk) {
        continue;
      }
      const nearOne = nearFault(faults, firstOk.at, FAULT_SLACK_MS);
      for (const later of forwards.filter((f) => f.at > firstOk.at)) {
        again.push({ key, excused: nearOne && later.id === firstOk.id });
      }
    }
    const unexcused = again.filter((a) => !a.excused);
    check(
      unexcused.length === 0,
      `forwarded once: none again after the backend's 2xx, but around a fault (${again.length} repeats; outside a fault ` +
        `window: ${unexcused.length}${examples(unexcused.map((a) => a.key))})`,
    );

    const refused = this.forwards.filter((f) => f.status !== 200).length;
    const echoed = acknowledged.filter((d) => d.tries.some((t) => t.status === 200 && t.body?.includes('后端收到')));
    return (
      `forwarding: ${this.forwards.length} forwards of ${byKey.size} messages, ${refused} refused with a 503 and retried, ` +
      `${again.length} forwarded again after a 2xx (around a fault); ${echoed.length} deliveries answered with the ` +
      `backend's reply as the passive reply`
    );
  }
}
