import { Injectable, Logger } from '@nestjs/common';
import { Batcher } from 'src/database/batcher';
import { isDatabaseDownError } from 'src/database/database-errors';
import { Sql } from 'src/database/sql';

/** WeChat's customer-service window: 48 hours from the user's last message or event. */
export const CUSTOM_MESSAGE_WINDOW_MS = 48 * 60 * 60 * 1000;
/** A follower seen again within this time is not written again (the window is 48 h; a minute less is harmless). */
const TOUCH_AGAIN_AFTER_MS = 60_000;
const REMEMBERED = 10_000;

/**
 * Each follower's last interaction per official account (`wechat_follower_activity`), for the 48-hour window.
 * Deliveries touch it without waiting: touches of the moment go in one upsert (keys sorted, so concurrent upserts
 * never deadlock), and a follower touched in the last minute on this instance is not written again.
 */
@Injectable()
export class FollowerActivityRepository {
  private readonly logger = new Logger(FollowerActivityRepository.name);
  private readonly touches = new Batcher<{ appid: string; openid: string; at: number }, void>(
    (items) => this.touchMany(items),
    { maxBatch: 512, maxInFlight: 1, lingerMs: 5, retrySingly: (error) => !isDatabaseDownError(error) },
  );
  /** appid\nopenid → when this instance last wrote it; oldest first (a Map keeps insertion order). */
  private readonly recent = new Map<string, number>();

  constructor(private readonly sql: Sql) {}

  /** Records that `openid` wrote to or acted on `appid` now. Never waits, never throws. */
  touch(appid: string, openid: string): void {
    const key = `${appid}\n${openid}`;
    const now = Date.now();
    const last = this.recent.get(key);
    if (last !== undefined && now - last < TOUCH_AGAIN_AFTER_MS) {
      return;
    }
    this.recent.delete(key);
    this.recent.set(key, now);
    if (this.recent.size > REMEMBERED) {
      this.recent.delete(this.recent.keys().next().value!);
    }
    this.touches.submit({ appid, openid, at: now }).catch((error: unknown) => {
      this.recent.delete(key);
      this.logger.warn(`Could not record the activity of ${openid}: ${String(error)}`);
    });
  }

  /** The follower's last interaction with `appid`, or null when there is none on record. */
  async lastInteraction(appid: string, openid: string): Promise<Date | null> {
    const rows = await this.sql.rows<{ lastAt: Date }>(
      'SELECT last_at AS "lastAt" FROM wechat_follower_activity WHERE appid = $1 AND openid = $2',
      [appid, openid],
    );
    return rows[0]?.lastAt ?? null;
  }

  private async touchMany(items: { appid: string; openid: string; at: number }[]): Promise<void[]> {
    const latest = new Map<string, { appid: string; openid: string; at: number }>();
    for (const item of items) {
      const key = `${item.appid}\n${item.openid}`;
      const seen = latest.get(key);
      if (!seen || seen.at < item.at) {
        latest.set(key, item);
      }
    }
    const rows = [...latest.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, item]) => ({ appid: item.appid, openid: item.openid, at: new Date(item.at).toISOString() }));
    await this.sql.prepared(
      'follower_touch',
      `INSERT INTO wechat_follower_activity AS a (appid, openid, last_at)
       SELECT t.appid, t.openid, t.at FROM jsonb_to_recordset($1::jsonb) AS t(appid text, openid text, at timestamptz)
       ON CONFLICT ON CONSTRAINT "PK_wechat_follower_activity"
         DO UPDATE SET last_at = excluded.last_at WHERE a.last_at < excluded.last_at`,
      [JSON.stringify(rows)],
    );
    return items.map(() => undefined);
  }
}
