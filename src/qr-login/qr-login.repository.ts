import { Injectable } from '@nestjs/common';
import { CHANGE_CHANNEL } from 'src/database/change-feed';
import { Sql } from 'src/database/sql';
import type { StoredQrLoginStatus } from 'src/qr-login/qr-login-attempt.entity';

/** The topic of scan-to-login changes on the change feed; the key is the attempt's id, the detail its new status. */
export const QR_LOGIN_TOPIC = 'qr-login';

export type QrLoginStatus = StoredQrLoginStatus | 'expired';

/** How long after its QR code expired a confirmed attempt can still be collected by its desktop. */
export const COLLECT_GRACE_SECONDS = 120;
/** How long an expired attempt is kept, so a late scan or an old confirmation link is told "expired", not "unknown". */
export const KEEP_EXPIRED_SECONDS = 3600;

export interface QrLoginAttempt {
  id: string;
  appid: string;
  scene: string;
  /** The status as the desktop sees it: `expired` once the code is past its time (and a confirmation uncollected). */
  status: QrLoginStatus;
  openid: string | null;
  returnTo: string;
  createdAt: Date;
  expiresAt: Date;
  consumedAt: Date | null;
}

export interface NewAttempt {
  appid: string;
  scene: string;
  browserHash: string;
  returnTo: string;
  expiresInSeconds: number;
}

/** The status a reader sees, worked out on the database's clock so that every instance agrees. */
const STATUS_VIEW = `CASE
  WHEN a.status IN ('pending', 'scanned') AND a.expires_at <= now() THEN 'expired'
  WHEN a.status = 'confirmed' AND a.consumed_at IS NULL
    AND a.expires_at + interval '${COLLECT_GRACE_SECONDS} seconds' <= now() THEN 'expired'
  ELSE a.status END`;

const COLUMNS = `a.id, a.appid, a.scene, ${STATUS_VIEW} AS status, a.openid, a.return_to AS "returnTo",
  a.created_at AS "createdAt", a.expires_at AS "expiresAt", a.consumed_at AS "consumedAt"`;

/** Publishes the change of each updated row in the statement that makes it (so it is heard exactly at commit). */
const NOTIFY = `pg_notify('${CHANGE_CHANNEL}', json_build_object('topic', '${QR_LOGIN_TOPIC}', 'key', a.id::text,
  'detail', a.status)::text)`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `id` can be an attempt's id (a malformed one costs no query and would fail the uuid cast). */
export const isAttemptId = (id: unknown): id is string => typeof id === 'string' && UUID.test(id);

/**
 * Scan-to-login attempts. Every transition is one `UPDATE … WHERE status = <from> … RETURNING`, so two instances
 * (or two retries) racing for the same attempt cannot both move it, and each publishes its change in the same
 * statement.
 */
@Injectable()
export class QrLoginRepository {
  constructor(private readonly sql: Sql) {}

  async create(attempt: NewAttempt): Promise<QrLoginAttempt> {
    const [row] = await this.sql.rows<QrLoginAttempt>(
      `INSERT INTO qr_login_attempts AS a (appid, scene, browser_hash, return_to, expires_at)
       VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))
       RETURNING ${COLUMNS}`,
      [attempt.appid, attempt.scene, attempt.browserHash, attempt.returnTo, attempt.expiresInSeconds],
    );
    return row;
  }

  /** The attempt, for the desktop browser whose cookie hash is `browserHash` only. */
  async findForBrowser(id: string, browserHash: string): Promise<QrLoginAttempt | null> {
    const [row] = await this.sql.rows<QrLoginAttempt>(
      `SELECT ${COLUMNS} FROM qr_login_attempts a WHERE a.id = $1 AND a.browser_hash = $2`,
      [id, browserHash],
    );
    return row ?? null;
  }

  async findById(id: string): Promise<QrLoginAttempt | null> {
    const [row] = await this.sql.rows<QrLoginAttempt>(`SELECT ${COLUMNS} FROM qr_login_attempts a WHERE a.id = $1`, [
      id,
    ]);
    return row ?? null;
  }

  async findByScene(appid: string, scene: string): Promise<QrLoginAttempt | null> {
    const [row] = await this.sql.rows<QrLoginAttempt>(
      `SELECT ${COLUMNS} FROM qr_login_attempts a WHERE a.appid = $1 AND a.scene = $2`,
      [appid, scene],
    );
    return row ?? null;
  }

  /** The current status of each of `ids` that still exists (streams re-reading after a change or a resync). */
  async statuses(ids: string[]): Promise<{ id: string; status: QrLoginStatus }[]> {
    return this.sql.rows(
      `SELECT a.id, ${STATUS_VIEW} AS status FROM qr_login_attempts a WHERE a.id = ANY($1::uuid[])`,
      [ids],
    );
  }

  /**
   * The scan: a live `pending` attempt of `appid` with `scene` becomes `scanned` by `openid` (or, with `confirm`,
   * `confirmed` at once). Null when there is no such attempt (unknown, expired or already scanned).
   */
  async markScanned(appid: string, scene: string, openid: string, confirm: boolean): Promise<QrLoginAttempt | null> {
    const [row] = await this.sql.rows<QrLoginAttempt & { notified: unknown }>(
      `WITH a AS (
         UPDATE qr_login_attempts SET status = $4, openid = $3, scanned_at = now(),
           decided_at = CASE WHEN $4 = 'confirmed' THEN now() END
         WHERE appid = $1 AND scene = $2 AND status = 'pending' AND expires_at > now()
         RETURNING *)
       SELECT ${COLUMNS}, ${NOTIFY} AS notified FROM a`,
      [appid, scene, openid, confirm ? 'confirmed' : 'scanned'],
    );
    return row ?? null;
  }

  /** The phone's decision: a live `scanned` attempt, scanned by `openid`, becomes `confirmed` or `denied`. */
  async decide(id: string, openid: string, decision: 'confirmed' | 'denied'): Promise<QrLoginAttempt | null> {
    const [row] = await this.sql.rows<QrLoginAttempt & { notified: unknown }>(
      `WITH a AS (
         UPDATE qr_login_attempts SET status = $3, decided_at = now()
         WHERE id = $1 AND openid = $2 AND status = 'scanned' AND expires_at > now()
         RETURNING *)
       SELECT ${COLUMNS}, ${NOTIFY} AS notified FROM a`,
      [id, openid, decision],
    );
    return row ?? null;
  }

  /**
   * The desktop collects its login: a confirmed attempt of this browser, not yet collected and within its time, is
   * marked collected. Only the caller that gets the row back logs in; every later read finds it collected.
   */
  async claimLogin(id: string, browserHash: string): Promise<QrLoginAttempt | null> {
    const [row] = await this.sql.rows<QrLoginAttempt>(
      `UPDATE qr_login_attempts a SET consumed_at = now()
       WHERE a.id = $1 AND a.browser_hash = $2 AND a.status = 'confirmed' AND a.consumed_at IS NULL
         AND a.expires_at + interval '${COLLECT_GRACE_SECONDS} seconds' > now()
       RETURNING ${COLUMNS}`,
      [id, browserHash],
    );
    return row ?? null;
  }

  /** Undoes `claimLogin` when the session could not be made, so the next read tries again. */
  async releaseLogin(id: string): Promise<void> {
    await this.sql.rows('UPDATE qr_login_attempts SET consumed_at = NULL WHERE id = $1', [id]);
  }
}
