/**
 * The soak's scan-to-login load and its invariant "no scan lost". The instances run QR_LOGIN_CONFIRM=scan: the scan
 * itself confirms, so a scan that WeChat delivered has one visible effect (the attempt confirmed by the scanner) and
 * the desktop's poll collects the login at once. The scan is the part of the flow that crosses the webhook — claimed,
 * leased, taken over after a kill, spooled in the outage — which is what the soak is for; the phone's confirmation
 * (`tap`) is a plain browser POST answered 503 in an outage, like the admin writes the soak already counts.
 */
import type { Pool } from 'pg';
import { OA_APP } from 'test/support/create-test-app';
import { prepareScan } from 'test/fake-wechat/routes/qrcode.routes';
import { Check, Delivery, sleep, SoakContext } from 'scripts/soak/types';

/** Lanes of desktops; each has its own phones, so that one phone never scans twice within a second (one CreateTime). */
const LANES = 4;
const PHONES_PER_LANE = 5;
/** Some codes are left on the screen past their 300 s and scanned then: WeChat's app refuses them. */
const LATE_SHARE = 0.04;
const QR_SECONDS = 300;
/** A desktop polls this long for its login after the scan (a spooled scan is applied when PostgreSQL is back). */
const COLLECT_MS = 25_000;
const EXPIRED_TEXT = '二维码已过期';

interface Attempt {
  id: string;
  qrUrl: string;
  cookie: string;
  phone?: string;
  /** The emulator's refusal of the scan (410: the code had expired), when it sent nothing. */
  refused?: number;
  scan?: Delivery;
  rescan?: Delivery;
  polls: number;
  /** Reads with no answer (a killed instance) or answered 5xx (the outage). */
  pollErrors: number;
  /** Reads that logged the desktop in (returnTo and a session). */
  collected: number;
  /** The collected session's user holds the scanner's identity (GET /api/me). */
  sessionOk?: boolean;
  lastStatus?: string;
}

const answered = (delivery?: Delivery) => delivery?.tries.find((t) => t.status === 200);

export class QrLoginLoad {
  readonly attempts: Attempt[] = [];
  private readonly late: Promise<void>[] = [];
  private createFailures = 0;
  private serial = 0;

  constructor(private readonly ctx: SoakContext) {}

  loops(): Promise<void>[] {
    return Array.from({ length: LANES }, (_, lane) => this.lane(lane));
  }

  /** Waits for the late scans (they may outlive the load by up to 300 s: they only start when that much time is left). */
  async settle(): Promise<void> {
    await Promise.all(this.late);
  }

  private async lane(lane: number): Promise<void> {
    let turn = 0;
    while (!this.ctx.stopping()) {
      const attempt = await this.create();
      if (!attempt) {
        await sleep(500);
        continue;
      }
      const leftToRun = this.ctx.seconds * 1000 - this.ctx.elapsed();
      if (Math.random() < LATE_SHARE && leftToRun > (QR_SECONDS + 20) * 1000) {
        this.late.push(this.scanLate(attempt));
        continue;
      }
      const phone = `o-qr-${lane}-${turn++ % PHONES_PER_LANE}`;
      // The person picks up the phone and points it at the screen.
      await sleep(200 + Math.random() * 1000);
      await this.scan(attempt, phone);
      await this.collect(attempt, COLLECT_MS);
      if (Math.random() < 0.1) {
        // Scans it again (a new message, a second later): told it is used; the attempt does not change.
        await sleep(1100);
        await this.scan(attempt, phone, true);
      }
      await sleep(300 + Math.random() * 700);
    }
  }

  private async create(): Promise<Attempt | null> {
    this.serial += 1;
    const res = await this.ctx.request('qr-login-create', '/qr-login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ returnTo: `/soak/${this.serial}` }),
    });
    const cookie = res?.headers
      .getSetCookie()
      .map((line) => line.split(';')[0])
      .find((pair) => pair.startsWith('wx_qr='));
    if (res?.status !== 201 || !cookie) {
      this.createFailures += 1;
      return null;
    }
    const body = (await res.json()) as { id: string; qrUrl: string };
    const attempt: Attempt = { id: body.id, qrUrl: body.qrUrl, cookie, polls: 0, pollErrors: 0, collected: 0 };
    this.attempts.push(attempt);
    return attempt;
  }

  private async scanLate(attempt: Attempt): Promise<void> {
    await sleep((QR_SECONDS + 2) * 1000);
    await this.scan(attempt, `o-qr-late-${attempt.id.slice(0, 8)}`);
  }

  /** A phone scans the code: the emulator makes the event (or refuses an expired code), delivered as WeChat does. */
  private async scan(attempt: Attempt, phone: string, again = false): Promise<void> {
    const prepared = prepareScan(this.ctx.fake, {
      url: attempt.qrUrl,
      openid: phone,
      server: { url: 'http://soak.invalid/', token: this.ctx.token, originalId: this.ctx.originalId },
    });
    if (!prepared.ok) {
      if (!again) {
        attempt.refused = prepared.status;
      }
      return;
    }
    const delivery: Delivery = {
      key: `event:${phone}:${prepared.createTime}:${prepared.event}`,
      tries: [],
    };
    if (again) {
      attempt.rescan = delivery;
    } else {
      attempt.phone = phone;
      attempt.scan = delivery;
    }
    await this.ctx.deliver(prepared.xml, delivery);
  }

  /** The desktop polls GET /qr-login/:id until it is logged in, the attempt is final, or `forMs` has passed. */
  private async collect(attempt: Attempt, forMs: number): Promise<void> {
    const until = Date.now() + forMs;
    while (Date.now() < until) {
      attempt.polls += 1;
      const res = await this.ctx.request('qr-login-poll', `/qr-login/${attempt.id}`, {
        headers: { cookie: attempt.cookie },
      });
      if (!res || res.status >= 500) {
        attempt.pollErrors += 1;
      } else if (res.status === 200) {
        const body = (await res.json()) as { status: string; returnTo?: string };
        attempt.lastStatus = body.status;
        if (body.returnTo !== undefined) {
          attempt.collected += 1;
          const sid = res.headers
            .getSetCookie()
            .map((line) => line.split(';')[0])
            .find((pair) => pair.startsWith('sid='));
          await this.checkSession(attempt, sid);
          return;
        }
        if (body.status !== 'pending' && body.status !== 'scanned') {
          return;
        }
      }
      await sleep(300);
    }
  }

  private async checkSession(attempt: Attempt, sid: string | undefined): Promise<void> {
    if (!sid) {
      attempt.sessionOk = false;
      return;
    }
    for (let i = 0; i < 30; i += 1) {
      const res = await this.ctx.request('qr-login-me', '/api/me', { headers: { cookie: sid } });
      if (res?.status === 200) {
        const me = (await res.json()) as { identities: { appid: string; openid: string }[] };
        attempt.sessionOk = me.identities.some((each) => each.appid === OA_APP.appid && each.openid === attempt.phone);
        return;
      }
      await sleep(1000);
    }
  }

  /** After the drain: desktops that have not collected a confirmed login poll once more (a spooled scan replayed late). */
  async finalPolls(): Promise<void> {
    const waiting = this.attempts.filter((a) => answered(a.scan) && a.collected === 0 && a.lastStatus !== 'confirmed');
    await Promise.all(waiting.map((a) => this.collect(a, 5000)));
  }

  async check(pool: Pool, check: Check): Promise<string> {
    const rows = new Map(
      (
        await pool.query<{ id: string; status: string; openid: string | null; consumed: boolean }>(
          `SELECT id, status, openid, consumed_at IS NOT NULL AS consumed FROM qr_login_attempts WHERE id = ANY($1::uuid[])`,
          [this.attempts.map((a) => a.id)],
        )
      ).rows.map((row) => [row.id, row]),
    );
    const scanned = this.attempts.filter((a) => a.scan);
    const delivered = scanned.filter((a) => answered(a.scan));
    const unanswered = scanned.filter((a) => !answered(a.scan));
    const refused = this.attempts.filter((a) => a.refused !== undefined);
    const expiredAtService = delivered.filter((a) => answered(a.scan)!.body?.includes(EXPIRED_TEXT));
    // A scan spooled in the outage is answered plain `success` (its passive reply is not sent).
    const spooled = delivered.filter((a) => answered(a.scan)!.body === 'success');
    const lost = delivered.filter((a) => {
      if (expiredAtService.includes(a)) {
        return false;
      }
      const row = rows.get(a.id);
      return !row || row.status !== 'confirmed' || row.openid !== a.phone;
    });
    check(
      lost.length === 0,
      `no scan lost: every scan WeChat delivered with a 200 confirmed its attempt by its scanner (${delivered.length} delivered, ` +
        `${spooled.length} of them answered plain success (spooled), ${expiredAtService.length} told expired by the service; ` +
        `lost: ${lost.length}${
          lost.length
            ? ` — ${lost
                .slice(0, 3)
                .map((a) => `${a.id}:${rows.get(a.id)?.status ?? 'no row'}`)
                .join(', ')}`
            : ''
        })`,
    );
    const refusedMoved = refused.filter((a) => rows.get(a.id)?.status !== 'pending');
    check(
      refusedMoved.length === 0,
      `an expired code's scan is refused by WeChat's app and changes nothing (${refused.length} refused, moved: ${refusedMoved.length})`,
    );
    const confirmed = delivered.filter((a) => !expiredAtService.includes(a) && !lost.includes(a));
    const twice = confirmed.filter((a) => a.collected > 1);
    // A desktop's read cut by a kill (or failed by the outage) can take the login with it: claimed, then the process
    // died (or the session's write failed) before the answer.
    const cutByKill = confirmed.filter((a) => a.collected === 0 && a.pollErrors > 0);
    const uncollected = confirmed.filter((a) => a.collected === 0 && a.pollErrors === 0);
    const badSession = confirmed.filter((a) => a.collected === 1 && a.sessionOk !== true);
    check(
      twice.length === 0 && uncollected.length === 0 && badSession.length === 0,
      `each confirmed attempt logged its desktop in exactly once, as its scanner (${confirmed.length - cutByKill.length - uncollected.length} logged in, ` +
        `twice: ${twice.length}, never: ${uncollected.length}, wrong or no session: ${badSession.length}; ` +
        `${cutByKill.length} with a read cut by a kill or the outage and no login, counted)`,
    );
    const rescans = this.attempts.filter((a) => answered(a.rescan));
    return (
      `scan-to-login: ${this.attempts.length} attempts created (${this.createFailures} creations not answered 201), ` +
      `${scanned.length} scans sent, ${delivered.length} answered 200, ${unanswered.length} never answered in WeChat's 3 tries, ` +
      `${refused.length} refused by the app (code expired), ${rescans.length} second scans, ` +
      `${this.attempts.reduce((n, a) => n + a.polls, 0)} desktop polls`
    );
  }
}
