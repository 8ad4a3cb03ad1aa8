import type autocannon from 'autocannon';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import {
  cpuPerRequest,
  fmt,
  freePort,
  load,
  LoadResult,
  median,
  medianOf,
  postJson,
  processCpu,
  ROOT,
  RunningProcess,
  spawnAndWait,
  startEmulator,
  startService,
  UNREACHED_RATE_LIMIT,
} from 'bench/support';
import { DEMO_APPS } from 'test/fake-wechat/fake-wechat.server';
import { createTestDatabase } from 'test/support/test-database';
import { WeChatSigner, wechatMessages } from 'test/support/wechat-signer';

const OA = DEMO_APPS[0];
const MP = DEMO_APPS[1];
const TOKEN = 'benchToken2026';
const AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const ADMIN_KEY = 'bench-admin-key-0123456789';
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
/** Rows recorded before the "full table" webhook runs (BENCH_RETENTION_ROWS, default 5 million). */
const FULL_ROWS = Number(process.env.BENCH_RETENTION_ROWS ?? 5_000_000);
/** BENCH_CPU_PROFILE=<prefix>: CPU-profile both instances (bench/cpu-profile.js) into <prefix>-<on|off>-<pid>.cpuprofile. */
const CPU_PROFILE = process.env.BENCH_CPU_PROFILE;
const profiled = (mode: string): Record<string, string> =>
  CPU_PROFILE
    ? { NODE_OPTIONS: `--require ${join(__dirname, 'cpu-profile.js')}`, CPU_PROFILE_OUT: `${CPU_PROFILE}-${mode}` }
    : {};

/**
 * Metrics and rate limits on: every request counted (METRICS_ENABLED, the default) and the limiter consulted on
 * every limited route, with a limit no run reaches (so the figures measure the work, not refusals). Off: neither.
 */
const ON = { METRICS_ENABLED: 'true', ...UNREACHED_RATE_LIMIT };
const OFF = { METRICS_ENABLED: 'false', RATE_LIMIT_PER_MINUTE: '0' };

const floorProcess = (script: string, env: Record<string, string | undefined>, port: number) =>
  spawnAndWait(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', join(ROOT, 'bench', script)],
    { ...env, PORT: String(port), TS_NODE_PROJECT: join(ROOT, 'tsconfig.json') },
    port,
  );

/**
 * Issue #15's benchmark, in one run: the webhook (plaintext text → passive reply) and the mini-program login (a new
 * user each) as ratios to their floors, with metrics and rate limits on and off (target: ≤ 5 % apart); then the
 * webhook with FULL_ROWS old messages recorded against an empty table (target: within 10 %), and one retention pass
 * over them. Runs are interleaved, in alternating order, so the shared machine's noise hits all alike; medians of
 * RUNS, and the service's CPU per request (on against off), which the machine's load moves far less than the rates.
 */
export async function run(): Promise<void> {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-if-stale.js')], { cwd: ROOT, stdio: 'inherit' });
  const emulator = await startEmulator(await freePort());
  const db = await createTestDatabase();
  const env = {
    NODE_ENV: 'production',
    DATABASE_URL: db.url,
    DATA_ENCRYPTION_KEY: Buffer.alloc(32, 4).toString('base64'),
    ADMIN_API_KEY: ADMIN_KEY,
    WECHAT_API_BASE: emulator.url,
    WECHAT_OPEN_BASE: emulator.url,
    WECHAT_OA_APPID: OA.appid,
    WECHAT_OA_SECRET: OA.secret,
    WECHAT_OA_TOKEN: TOKEN,
    WECHAT_OA_AES_KEY: AES_KEY,
    WECHAT_MP_APPID: MP.appid,
    WECHAT_MP_SECRET: MP.secret,
  };
  const running: RunningProcess[] = [];
  const client = new Client({ connectionString: db.url });
  try {
    const on = await startService({ ...env, ...ON, ...profiled('on') }, await freePort());
    const off = await startService({ ...env, ...OFF, ...profiled('off') }, await freePort());
    const webhookFloor = await floorProcess('floor-webhook.ts', env, await freePort());
    const loginFloor = await floorProcess('floor-login.ts', env, await freePort());
    running.push(on, off, webhookFloor, loginFloor);
    await client.connect();
    const rule = await fetch(`${on.url}/admin/auto-replies`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-admin-key': ADMIN_KEY },
      body: JSON.stringify({ match: 'exact', keyword: '你好', reply: { type: 'text', content: '你好呀' } }),
    });
    if (rule.status !== 201) {
      throw new Error(`could not add the bench rule: ${rule.status}`);
    }

    const signer = new WeChatSigner({ token: TOKEN, appId: OA.appid });
    let sent = 0;
    const webhookLoad = (url: string): Promise<LoadResult> => {
      const pool = Array.from({ length: 15_000 * DURATION_S }, () => {
        sent += 1;
        const signed = signer.sign(wechatMessages.text('你好', { from: `o-ops-${sent % 1000}` }));
        return { path: `/wechat/webhook?${new URLSearchParams(signed.query)}`, body: signed.body };
      });
      let next = 0;
      return load({
        url,
        duration: DURATION_S,
        requests: [
          {
            method: 'POST',
            path: pool[0].path,
            headers: { 'content-type': 'text/xml' },
            setupRequest: (request: autocannon.Request) => {
              const signed = pool[next++ % pool.length];
              request.path = signed.path;
              request.body = signed.body;
              return request;
            },
          },
        ],
      });
    };
    const loginLoad = async (url: string, path: string): Promise<LoadResult> => {
      const pool = (await postJson<{ codes: string[] }>(`${emulator.url}/__control/jscodes`, { count: 40_000 })).codes;
      let next = 0;
      return load({
        url,
        duration: DURATION_S,
        requests: [
          {
            method: 'POST',
            path,
            headers: { 'content-type': 'application/json' },
            setupRequest: (request: autocannon.Request) => {
              request.body = JSON.stringify({ code: pool[next++] });
              return request;
            },
          },
        ],
      });
    };

    const lines: string[] = [];
    /** The service's CPU per request of a run (all its threads, µs), beside the rate: it does not move with the load. */
    const measured = async (service: RunningProcess, measure: (url: string) => Promise<LoadResult>) => {
      const { result, us } = await cpuPerRequest(() => measure(service.url), [processCpu('the service', service.pid)]);
      return { result, cpuUs: us[0] };
    };
    const compare = async (
      name: string,
      floor: () => Promise<LoadResult>,
      measure: (url: string) => Promise<LoadResult>,
    ) => {
      // A warm-up run of each (the floor's JIT too), then rounds in alternating order — floor, on, off; then off,
      // on, floor — so that neither mode always follows the floor (or the other mode) and the machine's drifts and
      // the tables growing under the runs hit both alike.
      await floor();
      await measure(on.url);
      await measure(off.url);
      const floors: LoadResult[] = [];
      const ons: { result: LoadResult; cpuUs: number }[] = [];
      const offs: { result: LoadResult; cpuUs: number }[] = [];
      for (let i = 0; i < RUNS; i += 1) {
        if (i % 2 === 0) {
          floors.push(await floor());
          ons.push(await measured(on, measure));
          offs.push(await measured(off, measure));
        } else {
          offs.push(await measured(off, measure));
          ons.push(await measured(on, measure));
          floors.push(await floor());
        }
      }
      const [f, a, b] = [medianOf(floors), medianOf(ons.map((r) => r.result)), medianOf(offs.map((r) => r.result))];
      const [cpuOn, cpuOff] = [median(ons.map((r) => r.cpuUs)), median(offs.map((r) => r.cpuUs))];
      lines.push(
        `${name} floor ${fmt(f)}`,
        `${name} on    ${fmt(a)}  → ${(a.rps / f.rps).toFixed(2)}× the floor`,
        `${name} off   ${fmt(b)}  → ${(b.rps / f.rps).toFixed(2)}× the floor`,
        `${name} on/off ${(a.rps / b.rps).toFixed(3)} (target ≥ 0.95); per run ${ons.map((r, i) => (r.result.rps / offs[i].result.rps).toFixed(2)).join(', ')}`,
        `${name} service CPU a request: on ${cpuOn.toFixed(1)} µs, off ${cpuOff.toFixed(1)} µs (${(cpuOff / cpuOn).toFixed(3)}); per run on ${ons.map((r) => r.cpuUs.toFixed(0)).join(', ')}, off ${offs.map((r) => r.cpuUs.toFixed(0)).join(', ')}`,
      );
    };
    await compare(
      'webhook',
      () => webhookLoad(webhookFloor.url),
      (url) => webhookLoad(url),
    );
    await compare(
      'login  ',
      () => loginLoad(loginFloor.url, '/login'),
      (url) => loginLoad(url, '/miniprogram/login'),
    );
    const metrics = await (await fetch(`${on.url}/metrics`)).text();
    lines.push(
      `metrics after the runs: ${metrics.split('\n').filter((line) => line.startsWith('http_requests_total{')).length} request series`,
    );

    // Retention: the webhook with an empty table, then with FULL_ROWS messages older than the retention period.
    await client.query('TRUNCATE wechat_inbound_messages');
    const empty = medianOf(await runsOf(() => webhookLoad(off.url)));
    await client.query('TRUNCATE wechat_inbound_messages');
    const filled = Date.now();
    await client.query(
      `INSERT INTO wechat_inbound_messages
         (to_user_name, dedupe_key, from_user_name, msg_type, msg_id, wechat_create_time, fields, reply, received_at)
       SELECT 'gh_0123456789ab', 'msg:old-' || i, 'o-old-' || (i % 100000), 'text', 'old-' || i, 1700000000,
              '{"Content":"你好"}', '<xml><Content><![CDATA[你好呀]]></Content></xml>',
              now() - interval '40 days' + i * interval '1 millisecond'
         FROM generate_series(1, $1) AS i`,
      [FULL_ROWS],
    );
    await client.query('VACUUM ANALYZE wechat_inbound_messages');
    const fillS = (Date.now() - filled) / 1000;
    const full = medianOf(await runsOf(() => webhookLoad(off.url)));
    lines.push(
      `webhook, empty table         ${fmt(empty)}`,
      `webhook, ${FULL_ROWS} old rows ${fmt(full)}  → ${(full.rps / empty.rps).toFixed(3)} of the empty table (target ≥ 0.90); filled in ${fillS.toFixed(0)} s`,
    );
    const purge = Date.now();
    const { rows } = await client.query<{ count: number }>(`SELECT count(*)::int AS count FROM wechat_inbound_messages
      WHERE received_at < now() - interval '30 days'`);
    // The service's own statement, batch after batch, as RetentionService runs it.
    let deleted = 0;
    for (;;) {
      const batch = await client.query<{ count: number }>(
        `WITH deleted AS (
           DELETE FROM wechat_inbound_messages
            WHERE ctid = ANY (ARRAY(SELECT ctid FROM wechat_inbound_messages
                                     WHERE received_at < now() - make_interval(days => 30) LIMIT 10000))
           RETURNING 1)
         SELECT count(*)::int AS count FROM deleted`,
      );
      deleted += batch.rows[0].count;
      if (batch.rows[0].count < 10_000) {
        break;
      }
    }
    const purgeS = (Date.now() - purge) / 1000;
    lines.push(
      `retention: ${deleted} of ${rows[0].count} expired rows deleted in ${purgeS.toFixed(1)} s (${Math.round(deleted / purgeS)} rows/s, batches of 10,000)`,
      `${RUNS} runs of ${DURATION_S} s, 50 connections, medians; a shared, noisy machine (no CPU pinning here)`,
    );
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await client.end().catch(() => undefined);
    await Promise.all(running.map((process) => process.stop()));
    await emulator.stop();
    await db.drop();
  }
}

async function runsOf(measure: () => Promise<LoadResult>): Promise<LoadResult[]> {
  await measure();
  const results: LoadResult[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    results.push(await measure());
  }
  return results;
}
