import type { Pool } from 'pg';
import type { FakeWeChat } from 'test/fake-wechat/fake-wechat.server';

/** One try of a webhook delivery, as WeChat saw it. */
export interface Try {
  status?: number;
  body?: string;
  error?: string;
  ms: number;
}

/** A webhook delivery: the message's dedupe key, and every try WeChat made of it. */
export interface Delivery {
  key: string;
  follower?: string;
  event?: 'subscribe' | 'unsubscribe';
  tries: Try[];
}

/** When the faults struck: each SIGKILL, and the PostgreSQL stop (from the stop to the end of the start). */
export interface FaultLog {
  kills: number[];
  outage: { from: number; to: number } | null;
}

/** What the soak's parts of the load share: the instances (behind `request`), WeChat's delivery, the clock. */
export interface SoakContext {
  fake: FakeWeChat;
  /** The Token of the official account's 服务器配置, and its original id (the ToUserName of its events). */
  token: string;
  originalId: string;
  seconds: number;
  /** A request to any live instance; the status is counted; null on a connection error or time-out. */
  request(what: string, path: string, init?: RequestInit): Promise<Response | null>;
  /** Delivers `xml` as WeChat does (3 tries, 5 s each, each to any live instance) and records `delivery`. */
  deliver(xml: string, delivery: Delivery): Promise<void>;
  stopping(): boolean;
  /** Milliseconds since the load started. */
  elapsed(): number;
  log(line: string): void;
}

/** ` — ` and the first three of `items`, for a check's line; nothing when there are none. */
export const examples = (items: string[], separator = ', '): string =>
  items.length ? ` — ${items.slice(0, 3).join(separator)}` : '';

/** Prints and records one invariant. */
export type Check = (ok: boolean, line: string) => void;

/** The senders of the text streams; their messages keep the 48-hour window of customer-service messages open. */
export const WRITERS = ['o-soak-writer-a', 'o-soak-writer-b', 'o-soak-writer-c'] as const;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)];

/** True when `at` falls within `slackMs` of a fault: around a SIGKILL, or from just before the stop to the start. */
export function nearFault(faults: FaultLog, at: number, slackMs: number): boolean {
  if (faults.kills.some((kill) => at >= kill - slackMs && at <= kill + slackMs)) {
    return true;
  }
  return !!faults.outage && at >= faults.outage.from - slackMs && at <= faults.outage.to + slackMs;
}

/**
 * Polls `countSql` (one row, `left`) every second until it reads 0 or `limitMs` has passed: a queue's drain after the
 * load. Answers what was left and how long it took.
 */
export async function drainQueue(pool: Pool, countSql: string, limitMs: number): Promise<{ left: number; ms: number }> {
  const from = Date.now();
  for (;;) {
    const [{ left }] = (await pool.query<{ left: string }>(countSql)).rows;
    const ms = Date.now() - from;
    if (Number(left) === 0 || ms > limitMs) {
      return { left: Number(left), ms };
    }
    await sleep(1000);
  }
}
