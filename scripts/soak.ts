/**
 * The chaos soak (`npm run soak`; SOAK_SECONDS, default 600): a PostgreSQL cluster of its own, the WeChat emulator
 * and three instances of the built service; mixed load from the emulator's side for the whole run; one instance
 * SIGKILLed every 60 s and restarted; PostgreSQL stopped once for 10 s. At the end the invariants are checked and
 * printed; the exit code is 1 when one breaks. Needs root (pg_createcluster) and `npm run build` (done here).
 * Scan-to-login (soak/qr-login-load.ts) and the outbox (soak/outbox-load.ts) bring their own load and invariants;
 * every message is forwarded to a team backend (soak/forward-load.ts), which brings its invariants.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { FakeWeChat } from 'test/fake-wechat/fake-wechat.server';
import { prepareLoginCode } from 'test/fake-wechat/routes/mini-program.routes';
import { ADMIN_KEY, MP_APP, OA_APP, wiredEnv } from 'test/support/create-test-app';
import { freePort } from 'test/support/free-port';
import { RECORDED_REPLIES } from 'test/support/recorded-replies';
import { createOwnCluster } from 'test/support/own-cluster';
import { buildService, ServiceProcess, startServiceProcess } from 'test/support/service-process';
import { wechatMessages, WeChatSigner } from 'test/support/wechat-signer';
import { ForwardLoad } from 'scripts/soak/forward-load';
import { OutboxLoad } from 'scripts/soak/outbox-load';
import { QrLoginLoad } from 'scripts/soak/qr-login-load';
import { Delivery, FaultLog, pick, sleep, SoakContext, WRITERS } from 'scripts/soak/types';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const KILL_EVERY_MS = 60_000;
const OUTAGE_MS = 10_000;
const TOKEN = 'soakToken123';
const TO = 'gh_soak';
const FOLLOWERS = 40;
const OPENIDS = 30;
const log = (line: string) => console.log(`[soak ${((Date.now() - startedAt) / 1000).toFixed(1)}s] ${line}`);
/** The start of the load (after the set-up): the chaos schedule counts from here. */
let startedAt = Date.now();
/** The logs of every instance process that ended (killed and replaced). */
const pastOutput: string[] = [];

interface Instance {
  index: number;
  port: number;
  spoolDir: string;
  process: ServiceProcess | null;
}

const counts = {
  requests: 0,
  connectionErrors: 0,
  status: new Map<number, number>(),
  unexpected5xx: [] as string[],
  outage503: 0,
  logins: 0,
  oauth: 0,
  tokenReads: 0,
  forced: 0,
  kills: 0,
};
let outageWindow: { from: number; to: number } | null = null;
/** When each SIGKILL was sent. */
const killTimes: number[] = [];
/** 503s are expected from the stop until the instances have reconnected (a few seconds after the start). */
const OUTAGE_GRACE_MS = 5000;

function countStatus(status: number, what: string, at: number): void {
  counts.requests += 1;
  counts.status.set(status, (counts.status.get(status) ?? 0) + 1);
  if (status >= 500) {
    const inOutage = outageWindow && at >= outageWindow.from && at <= outageWindow.to + OUTAGE_GRACE_MS;
    if (status === 503 && inOutage) {
      counts.outage503 += 1;
    } else {
      counts.unexpected5xx.push(`${status} ${what} at ${((at - startedAt) / 1000).toFixed(1)}s`);
    }
  }
}

async function main(): Promise<number> {
  buildService();
  const cluster = await createOwnCluster('soak');
  const fake = new FakeWeChat();
  await fake.start();
  const forwarding = new ForwardLoad();
  const forwardEnv = await forwarding.start();
  const pool = new Pool({ connectionString: cluster.url, max: 4 });
  pool.on('error', () => undefined);
  const instances: Instance[] = [];
  const root = mkdtempSync(join(tmpdir(), 'soak-'));
  let stopping = false;
  const cleanup = () => {
    for (const instance of instances) {
      instance.process?.child.kill('SIGKILL');
    }
    try {
      cluster.drop();
    } catch (error) {
      console.error(`Could not drop the cluster ${cluster.name}: ${String(error)}`);
    }
    rmSync(root, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    const env = (instance: Instance) => ({
      ...wiredEnv(fake, cluster.url),
      WECHAT_OA_TOKEN: TOKEN,
      PUBLIC_BASE_URL: `http://127.0.0.1:${instances[0].port}`,
      WEBHOOK_SPOOL_DIR: instance.spoolDir,
      // The scan itself confirms a scan-to-login (see soak/qr-login-load.ts for why).
      QR_LOGIN_CONFIRM: 'scan',
      LOG_LEVEL: 'warn',
      ...forwardEnv,
    });
    const start = async (instance: Instance) => {
      for (;;) {
        try {
          if (instance.process) {
            pastOutput.push(instance.process.output());
            instance.process = null;
          }
          instance.process = await startServiceProcess(env(instance), instance.port);
          return;
        } catch {
          // The database is down (start-up fails until it returns), or the port is still held: try again.
          await sleep(1000);
        }
      }
    };
    for (let i = 0; i < 3; i += 1) {
      instances.push({ index: i, port: await freePort(), spoolDir: join(root, `spool-${i}`), process: null });
    }
    await start(instances[0]);
    await Promise.all(instances.slice(1).map(start));
    startedAt = Date.now();
    log(`cluster ${cluster.name} on :${cluster.port}, instances on ${instances.map((i) => i.port).join(', ')}`);
    const live = () =>
      instances.filter((i) => i.process && i.process.child.exitCode === null && !i.process.child.killed);
    const url = () => `http://127.0.0.1:${pick(live().length ? live() : instances).port}`;

    const request = async (what: string, path: string, init: RequestInit = {}): Promise<Response | null> => {
      const at = Date.now();
      try {
        const res = await fetch(`${url()}${path}`, {
          ...init,
          redirect: 'manual',
          signal: AbortSignal.timeout(10_000),
        });
        countStatus(res.status, what, at);
        return res;
      } catch {
        counts.connectionErrors += 1;
        return null;
      }
    };

    // --- webhook deliveries, as WeChat sends them: 3 tries, 5 s each, each try to any instance (the load balancer)
    const signer = new WeChatSigner({ token: TOKEN });
    const deliveries: Delivery[] = [];
    const deliver = async (xml: string, delivery: Delivery) => {
      deliveries.push(delivery);
      const signed = signer.sign(xml);
      const query = new URLSearchParams(signed.query).toString();
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const at = Date.now();
        try {
          const res = await fetch(`${url()}/wechat/webhook?${query}`, {
            method: 'POST',
            headers: { 'content-type': 'text/xml' },
            body: signed.body,
            signal: AbortSignal.timeout(5000),
          });
          const body = await res.text();
          delivery.tries.push({ status: res.status, body, ms: Date.now() - at });
          countStatus(res.status, 'webhook', at);
          if (res.status === 200) {
            return;
          }
        } catch (error) {
          delivery.tries.push({ error: String(error), ms: Date.now() - at });
          // WeChat retries right after its 5 s; a refused connection is retried after the rest of them.
          await sleep(Math.max(0, 5000 - (Date.now() - at)));
        }
      }
    };
    let msgId = 1_000_000;
    let createTime = Math.floor(Date.now() / 1000);
    const followerLoop = async (n: number) => {
      const follower = `o-soak-fan-${n}`;
      let subscribed = false;
      while (!stopping) {
        createTime += 1;
        const event = subscribed ? 'unsubscribe' : 'subscribe';
        const delivery: Delivery = { key: `event:${follower}:${createTime}:${event}`, follower, event, tries: [] };
        await deliver(wechatMessages.event(event, {}, { from: follower, to: TO, createTime }), delivery);
        subscribed = !subscribed;
        await sleep(500 + Math.random() * 3000);
      }
    };
    const textLoop = async () => {
      while (!stopping) {
        msgId += 1;
        const id = String(msgId);
        const delivery: Delivery = { key: `msg:${id}`, tries: [] };
        // Some texts match the rule, so that replies are not all `success`.
        const content = Math.random() < 0.5 ? '营业时间' : `hello ${id}`;
        await deliver(wechatMessages.text(content, { from: pick(WRITERS), to: TO, msgId: id }), delivery);
        await sleep(50 + Math.random() * 150);
      }
    };

    // --- mini-program logins: a small pool of openids, often two at once for the same one
    const usersByOpenid = new Map<string, Set<string>>();
    const loginLoop = async () => {
      while (!stopping) {
        const openid = `o-mp-${Math.floor(Math.random() * OPENIDS)}`;
        const together = Math.random() < 0.3 ? 2 : 1;
        await Promise.all(
          Array.from({ length: together }, async () => {
            const code = prepareLoginCode(fake, { appid: MP_APP.appid, openid });
            const res = await request('login', '/miniprogram/login', {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ code }),
            });
            if (res?.status === 200) {
              counts.logins += 1;
              const body = (await res.json()) as { user: { id: string } };
              usersByOpenid.set(openid, (usersByOpenid.get(openid) ?? new Set()).add(body.user.id));
            }
          }),
        );
        await sleep(100 + Math.random() * 200);
      }
    };

    // --- OAuth round trips: authorize → the emulator's page (approve) → callback on any instance
    const oauthLoop = async () => {
      while (!stopping) {
        const authorize = await request('oauth-authorize', '/oauth/authorize?scope=snsapi_base&returnTo=/');
        const cookie = authorize?.headers.get('set-cookie')?.split(';')[0];
        const location = authorize?.headers.get('location');
        if (authorize?.status === 302 && location && cookie) {
          const page = await fetch(location, { redirect: 'manual' }).catch(() => null);
          const back = page?.headers.get('location');
          if (back) {
            const callback = new URL(back);
            const res = await request('oauth-callback', `${callback.pathname}${callback.search}`, {
              headers: { cookie },
            });
            if (res?.status === 302) {
              counts.oauth += 1;
            }
          }
        }
        await sleep(300 + Math.random() * 500);
      }
    };

    // --- token reads on every instance, and a forced refresh now and then
    const reads: { at: number; token: string }[] = [];
    const refreshes: { done: number; token: string }[] = [];
    const tokenLoop = async () => {
      while (!stopping) {
        const at = Date.now();
        const res = await request('token', `/admin/token?appid=${OA_APP.appid}`, {
          headers: { 'x-admin-key': ADMIN_KEY },
        });
        if (res?.status === 200) {
          counts.tokenReads += 1;
          reads.push({ at, token: ((await res.json()) as { accessToken: string }).accessToken });
        }
        await sleep(100);
      }
    };
    // At 45 s and every 90 s after: never within 15 s of a kill (30 s and every 60 s after).
    const refreshLoop = async () => {
      for (let at = 45_000; !stopping; at += 90_000) {
        while (!stopping && Date.now() < startedAt + at) {
          await sleep(Math.min(1000, startedAt + at - Date.now()));
        }
        if (stopping || (outageWindow && Date.now() < outageWindow.to + OUTAGE_GRACE_MS)) {
          continue;
        }
        const res = await request('token-refresh', `/admin/token/refresh?appid=${OA_APP.appid}`, {
          method: 'POST',
          headers: { 'x-admin-key': ADMIN_KEY },
        });
        if (res?.status === 200) {
          counts.forced += 1;
          refreshes.push({ done: Date.now(), token: ((await res.json()) as { accessToken: string }).accessToken });
          log('forced a token refresh');
        }
      }
    };

    // An auto-reply rule, so that text replies vary.
    await request('rule', '/admin/auto-replies', {
      method: 'POST',
      headers: { 'x-admin-key': ADMIN_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({
        match: 'exact',
        keyword: '营业时间',
        reply: { type: 'text', content: '每天 9:00–21:00' },
      }),
    });

    // --- chaos: a SIGKILL every 60 s (round robin) with a restart; PostgreSQL stopped once for 10 s
    // Near the middle, 12 s after a kill (kills at 30 s and every 60 s after), so that no kill falls inside it.
    const outageAt = Math.floor((SECONDS * 1000 * 0.45) / KILL_EVERY_MS) * KILL_EVERY_MS + KILL_EVERY_MS / 2 + 12_000;
    const chaos = async () => {
      let next = 0;
      for (let at = KILL_EVERY_MS / 2; at < SECONDS * 1000 - 10_000; at += KILL_EVERY_MS) {
        await sleep(startedAt + at - Date.now());
        const victim = instances[next++ % instances.length];
        killTimes.push(Date.now());
        victim.process?.child.kill('SIGKILL');
        await victim.process?.exited;
        counts.kills += 1;
        log(`SIGKILLed instance ${victim.index}`);
        await start(victim);
        log(`instance ${victim.index} is back`);
      }
    };
    const outage = async () => {
      if (outageAt > SECONDS * 1000 - 15_000) {
        return;
      }
      await sleep(startedAt + outageAt - Date.now());
      outageWindow = { from: Date.now(), to: Date.now() + OUTAGE_MS };
      cluster.stop();
      log('PostgreSQL stopped');
      await sleep(OUTAGE_MS);
      cluster.start();
      outageWindow.to = Date.now();
      log('PostgreSQL started');
    };

    const ctx: SoakContext = {
      fake,
      token: TOKEN,
      originalId: TO,
      seconds: SECONDS,
      request,
      deliver,
      stopping: () => stopping,
      elapsed: () => Date.now() - startedAt,
      log,
    };
    const qrLogins = new QrLoginLoad(ctx);
    OutboxLoad.prepare(fake);
    const outbox = new OutboxLoad(ctx);

    const loops = [
      ...Array.from({ length: FOLLOWERS }, (_, n) => followerLoop(n)),
      textLoop(),
      textLoop(),
      loginLoop(),
      oauthLoop(),
      tokenLoop(),
      refreshLoop(),
      ...qrLogins.loops(),
      ...outbox.loops(),
    ];
    const faults = Promise.all([chaos(), outage()]);
    await sleep(SECONDS * 1000);
    stopping = true;
    log('load stopped; waiting for the last deliveries and the spools');
    await Promise.all(loops);
    await faults;
    await qrLogins.settle();
    // Every instance alive again, so that a spool left by a killed one is replayed.
    for (const instance of instances) {
      if (!instance.process || instance.process.child.exitCode !== null || instance.process.child.signalCode) {
        await start(instance);
      }
    }
    await sleep(8000);
    log('draining the forwards (their late replies go to the outbox)');
    const forwardsLeft = await forwarding.drain(pool);
    log(`forwards drained (${forwardsLeft} left); draining the outbox`);
    const faultLog: FaultLog = { kills: killTimes, outage: outageWindow };
    const left = await outbox.drain(pool);
    log(`outbox drained (${left} left); the desktops poll once more`);
    await qrLogins.finalPolls();

    // --- the invariants
    const failures: string[] = [];
    const check = (ok: boolean, line: string) => {
      console.log(`${ok ? 'PASS' : 'FAIL'}  ${line}`);
      if (!ok) {
        failures.push(line);
      }
    };
    const rows = (
      await pool.query<{ dedupe_key: string; reply: string | null }>(
        `SELECT dedupe_key, reply FROM ${RECORDED_REPLIES} WHERE to_user_name = $1`,
        [TO],
      )
    ).rows;
    const recorded = new Map(rows.map((row) => [row.dedupe_key, row.reply]));
    const acknowledged = deliveries.filter((d) => d.tries.some((t) => t.status === 200));
    const unanswered = deliveries.filter((d) => !d.tries.some((t) => t.status === 200));
    const retried = deliveries.filter((d) => d.tries.length > 1);
    const missing = acknowledged.filter((d) => !recorded.has(d.key));
    const pending = acknowledged.filter((d) => recorded.has(d.key) && recorded.get(d.key) === null);
    console.log(
      `\nwebhook: ${deliveries.length} deliveries, ${acknowledged.length} answered 200, ${retried.length} needed a retry, ` +
        `${unanswered.length} never answered within WeChat's 3 tries; ${rows.length} rows recorded`,
    );
    check(missing.length === 0, `every delivery answered 200 is recorded (missing: ${missing.length})`);
    check(pending.length === 0, `every recorded delivery has its reply settled (still claimed: ${pending.length})`);
    check(
      rows.length === new Set(rows.map((r) => r.dedupe_key)).size,
      'no message is recorded twice (one row per dedupe key)',
    );
    const differing = acknowledged.filter(
      (d) => new Set(d.tries.filter((t) => t.status === 200).map((t) => t.body)).size > 1,
    );
    check(differing.length === 0, `every try answered 200 got the same reply (differing: ${differing.length})`);

    const lastEvent = new Map<string, Delivery>();
    for (const d of deliveries) {
      if (d.follower && d.tries.some((t) => t.status === 200)) {
        lastEvent.set(d.follower, d);
      }
    }
    const states = new Map(
      (
        await pool.query<{ openid: string; subscribed: boolean }>(
          'SELECT openid, subscribed FROM wechat_identities WHERE appid = $1',
          [OA_APP.appid],
        )
      ).rows.map((r) => [r.openid, r.subscribed]),
    );
    // A follower whose last event was never answered may show it or the one before: WeChat gave up on it.
    const ambiguous = new Set(unanswered.filter((d) => d.follower).map((d) => d.follower!));
    const wrong = [...lastEvent.entries()].filter(
      ([follower, d]) => !ambiguous.has(follower) && states.get(follower) !== (d.event === 'subscribe'),
    );
    check(
      wrong.length === 0,
      `each follower's state matches its last event (${lastEvent.size} followers, wrong: ${wrong.length}${
        wrong.length
          ? `: ${wrong
              .slice(0, 3)
              .map(([f]) => f)
              .join(', ')}`
          : ''
      })`,
    );

    const perOpenid = (
      await pool.query<{ openid: string; users: string }>(
        `SELECT openid, count(DISTINCT user_id) AS users FROM wechat_identities WHERE appid = $1 GROUP BY openid`,
        [MP_APP.appid],
      )
    ).rows;
    const split = [...usersByOpenid.values()].filter((users) => users.size > 1).length;
    check(
      split === 0 && perOpenid.every((r) => Number(r.users) === 1),
      `one user per openid (${usersByOpenid.size} openids, ${counts.logins} logins, split: ${split})`,
    );
    check(
      counts.unexpected5xx.length === 0,
      `no 5xx but the outage's 503s (503 in the outage: ${counts.outage503}; others: ${counts.unexpected5xx.length}${counts.unexpected5xx.length ? ` — ${counts.unexpected5xx.slice(0, 5).join('; ')}` : ''})`,
    );

    const stableCalls = fake
      .callsTo('/cgi-bin/stable_token')
      .filter((c) => (c.body as { appid?: string })?.appid === OA_APP.appid);
    const forcedCalls = stableCalls.filter(
      (c) => (c.body as { force_refresh?: boolean }).force_refresh === true,
    ).length;
    const windows = Math.ceil(SECONDS / (7200 - 300));
    check(
      stableCalls.length - forcedCalls === windows && forcedCalls === counts.forced,
      `upstream token fetches: ${stableCalls.length - forcedCalls} normal (expected ${windows}, one per expiry window) + ${forcedCalls} forced (expected ${counts.forced})`,
    );
    const generation = new Map(refreshes.map((r, i) => [r.token, i + 1]));
    const stale = reads.filter((read) => {
      const g = generation.get(read.token) ?? 0;
      return refreshes.some((r, i) => i + 1 > g && r.done + 1000 < read.at);
    });
    check(
      stale.length === 0,
      `no instance served a replaced token later than 1 s after the replacement (${reads.length} reads, stale: ${stale.length})`,
    );

    const qrFigures = await qrLogins.check(pool, check);
    const outboxFigures = await outbox.check(pool, check, faultLog);
    const forwardFigures = await forwarding.check(pool, check, deliveries, faultLog);

    const output = [...pastOutput, ...instances.map((i) => i.process?.output() ?? '')].join('\n');
    const lines = (pattern: RegExp) => output.split('\n').filter((line) => pattern.test(line)).length;
    console.log(
      `\npaths taken: ${lines(/spooled/)} deliveries spooled in the outage, ${lines(/in time: answered success/)} late ` +
        `(spooled too), ${lines(/Took over/)} claims taken over, ${lines(/Replayed \d+ spooled/)} spool segments replayed`,
    );
    const statuses = [...counts.status.entries()]
      .sort(([a], [b]) => a - b)
      .map(([s, n]) => `${s}×${n}`)
      .join(' ');
    console.log(
      `\nload: ${counts.requests} HTTP answers (${statuses}), ${counts.connectionErrors} connection errors (killed instances), ` +
        `${counts.logins} mini-program logins, ${counts.oauth} OAuth round trips, ${counts.tokenReads} token reads, ${counts.forced} forced refreshes`,
    );
    console.log(qrFigures);
    console.log(outboxFigures);
    console.log(forwardFigures);
    console.log(
      `faults: ${counts.kills} SIGKILLs, PostgreSQL stopped ${outageWindow ? `once for ${((outageWindow.to - outageWindow.from) / 1000).toFixed(1)} s` : 'never (run too short)'}`,
    );
    console.log(failures.length === 0 ? '\nSOAK PASSED' : `\nSOAK FAILED: ${failures.length} invariant(s) broken`);
    return failures.length === 0 ? 0 : 1;
  } finally {
    stopping = true;
    await pool.end().catch(() => undefined);
    await fake.stop().catch(() => undefined);
    await forwarding.stop().catch(() => undefined);
    cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
