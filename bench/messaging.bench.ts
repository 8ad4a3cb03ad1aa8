import type autocannon from 'autocannon';
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import {
  cpuPerRequest,
  CpuSource,
  fmt,
  freePort,
  load,
  LoadResult,
  median,
  medianOf,
  postgresCpuSeconds,
  processCpu,
  ROOT,
  RunningProcess,
  spawnAndWait,
  startEmulator,
  startService,
} from 'bench/support';
import { DEMO_APPS } from 'test/fake-wechat/fake-wechat.server';
import { createTestDatabase } from 'test/support/test-database';
import { WeChatSigner, wechatMessages } from 'test/support/wechat-signer';

const OA = DEMO_APPS[0];
const TOKEN = 'benchToken2026';
const AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const ADMIN_KEY = 'bench-admin-key-0123456789';
const SECRET = 'bench-forward-secret-0123';
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
/** Messages queued at once for the drain measure. */
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 10_000);
/** Connections of the webhook's load: the bench's usual 50, and enough to keep a forwarding service busy. */
const CONNECTIONS = 50;
const SATURATION_CONNECTIONS = Number(process.env.BENCH_SATURATION_CONNECTIONS ?? 200);
const SERVER_CPU = '0';
const LOAD_CPU = '1';
const TOUSER = 'o-bench-outbox';

const tsNode = ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register'];
const tsEnv = { TS_NODE_PROJECT: join(ROOT, 'tsconfig.json') };

/**
 * Issue #14's benchmark. The outbox: a backlog of BACKLOG custom messages drained to the emulator by one instance,
 * then by two (messages/s), and queue-to-sent latency (p50/p99 of sent_at − created_at) of messages POSTed at a
 * steady rate below that. The webhook: text → passive reply in plaintext, forwarding off (a rule answers) and on (a
 * local backend answering in ~1 ms gives the reply), each against the bare node:http floor of the same run; forwarding
 * on also against the forwarding floor (the floor plus the POST to the same backend, no database), and all three
 * again at BENCH_SATURATION_CONNECTIONS (default 200) connections. For forwarding on, the CPU per request of each
 * process in the runs (the service, PostgreSQL, the team backend, the load generator; the forwarding floor's and the
 * floor's), and the rate the machine's cores could carry at that cost.
 */
export async function run(): Promise<void> {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-if-stale.js')], { cwd: ROOT, stdio: 'inherit' });
  execFileSync('taskset', ['-cp', LOAD_CPU, String(process.pid)], { stdio: 'ignore' });
  const db = await createTestDatabase();
  const processes: RunningProcess[] = [];
  const sql = new Client({ connectionString: db.url });
  await sql.connect();
  const lines: string[] = [];
  try {
    const emulator = await startEmulator(await freePort(), LOAD_CPU);
    processes.push(emulator);
    const env = {
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      DATABASE_URL: db.url,
      DATA_ENCRYPTION_KEY: Buffer.alloc(32, 4).toString('base64'),
      ADMIN_API_KEY: ADMIN_KEY,
      WECHAT_API_BASE: emulator.url,
      WECHAT_OA_APPID: OA.appid,
      WECHAT_OA_SECRET: OA.secret,
      WECHAT_OA_TOKEN: TOKEN,
      WECHAT_OA_AES_KEY: AES_KEY,
    };
    const first = await startService(env, await freePort(), SERVER_CPU);
    processes.push(first);
    await sql.query(
      `INSERT INTO wechat_follower_activity (appid, openid, last_at) VALUES ($1, $2, now()) ON CONFLICT DO NOTHING`,
      [OA.appid, TOUSER],
    );

    const drain = async (label: string): Promise<number> => {
      await sql.query(
        `INSERT INTO wechat_outbound_messages (id, kind, appid, touser, payload)
         SELECT gen_random_uuid(), 'custom', $1, $2,
                jsonb_build_object('touser', $2::text, 'msgtype', 'text', 'text', jsonb_build_object('content', 'n' || i))
           FROM generate_series(1, $3) AS i`,
        [OA.appid, TOUSER, BACKLOG],
      );
      const started = Date.now();
      for (;;) {
        const { rows } = await sql.query<{ left: string }>(
          `SELECT count(*) AS left FROM wechat_outbound_messages WHERE status IN ('queued', 'sending')`,
        );
        if (Number(rows[0].left) === 0) {
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const rate = BACKLOG / ((Date.now() - started) / 1000);
      lines.push(`outbox ${label}: ${BACKLOG} queued messages drained at ${Math.round(rate)} messages/s`);
      return rate;
    };
    const one = await drain('1 instance ');
    const second = await startService(env, await freePort(), LOAD_CPU);
    processes.push(second);
    await drain('2 instances');

    // Queue-to-sent at half the one-instance rate, POSTed through the admin API.
    const rate = Math.max(50, Math.round(one / 2));
    const before = new Date();
    const posted = await load({
      url: `${first.url}/admin/messages`,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-admin-key': ADMIN_KEY },
      body: JSON.stringify({ kind: 'custom', touser: TOUSER, msgtype: 'text', text: { content: 'steady' } }),
      duration: Math.min(DURATION_S, 10),
      connections: 10,
      overallRate: rate,
    });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const { rows } = await sql.query<{ n: string; p50: number; p99: number; unsent: string }>(
      `SELECT count(*) AS n,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - created_at) * 1000) AS p50,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - created_at) * 1000) AS p99,
              count(*) FILTER (WHERE status <> 'sent') AS unsent
         FROM wechat_outbound_messages WHERE created_at >= $1`,
      [before],
    );
    lines.push(
      `outbox queue-to-sent at ${rate} messages/s (POST ${Math.round(posted.rps)}/s, 2 instances): p50 ${Math.round(rows[0].p50)} ms, p99 ${Math.round(rows[0].p99)} ms over ${rows[0].n} messages (${rows[0].unsent} not sent)`,
    );
    await second.stop();
    await first.stop();

    lines.push(...(await webhookRatios(env)));
  } finally {
    await sql.end();
    for (const running of processes.reverse()) {
      await running.stop();
    }
    await db.drop();
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function webhookRatios(base: Record<string, string | undefined>): Promise<string[]> {
  const processes: RunningProcess[] = [];
  const lines: string[] = [];
  try {
    const backendPort = await freePort();
    const backend = await spawnAndWait(
      process.execPath,
      [...tsNode, join(ROOT, 'test', 'fake-wechat', 'team-backend-main.ts')],
      { ...tsEnv, FORWARD_SECRET: SECRET, TEAM_BACKEND_PORT: String(backendPort), TEAM_BACKEND_DELAY_MS: '1' },
      backendPort,
      { healthPath: '/', cpu: LOAD_CPU },
    );
    processes.push(backend);
    const env = { ...base, WECHAT_API_BASE: 'http://127.0.0.1:9' };
    const off = await startService(env, await freePort(), SERVER_CPU);
    processes.push(off);
    const rule = await fetch(`${off.url}/admin/auto-replies`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-admin-key': ADMIN_KEY },
      body: JSON.stringify({ match: 'exact', keyword: '你好', reply: { type: 'text', content: '你好呀' } }),
    });
    if (rule.status !== 201) {
      throw new Error(`could not add the bench rule: ${rule.status}`);
    }
    const floorPort = await freePort();
    const floor = await spawnAndWait(
      process.execPath,
      [...tsNode, join(ROOT, 'bench', 'floor-webhook.ts')],
      { ...env, ...tsEnv, PORT: String(floorPort) },
      floorPort,
      { cpu: SERVER_CPU },
    );
    processes.push(floor);
    const signer = new WeChatSigner({ token: TOKEN, aesKey: AES_KEY, appId: OA.appid });
    let sent = 0;
    const webhookLoad = async (url: string, text: string, connections = CONNECTIONS): Promise<LoadResult> => {
      const query = (q: Record<string, string>) => new URLSearchParams(q).toString();
      const pool = Array.from({ length: 15_000 * DURATION_S }, () => {
        sent += 1;
        const signed = signer.sign(wechatMessages.text(text, { from: `o-bench-${sent % 1000}` }), 'plain');
        return { path: `/wechat/webhook?${query(signed.query)}`, body: signed.body };
      });
      let next = 0;
      return load({
        url,
        duration: DURATION_S,
        connections,
        requests: [
          {
            method: 'POST',
            path: pool[0].path,
            headers: { 'content-type': 'text/xml' },
            setupRequest: (request: autocannon.Request) => {
              const signed = pool[next % pool.length];
              next += 1;
              request.path = signed.path;
              request.body = signed.body;
              return request;
            },
          },
        ],
      });
    };
    const check = async (url: string, text: string, label: string) => {
      const signed = signer.sign(wechatMessages.text(text), 'plain');
      const res = await fetch(`${url}/wechat/webhook?${new URLSearchParams(signed.query)}`, {
        method: 'POST',
        headers: { 'content-type': 'text/xml' },
        body: signed.body,
      });
      const answer = await res.text();
      if (!answer.includes('你好呀')) {
        throw new Error(`${label}: unexpected answer ${res.status} ${answer}`);
      }
    };
    await check(off.url, '你好', 'forwarding off');
    await check(floor.url, '你好', 'floor');
    /**
     * Runs of the floor and the service, in turn, at `connections`; with `reference`, of that one too, and the ratio
     * to it.
     */
    const measure = async (
      url: string,
      text: string,
      label: string,
      reference?: { url: string; label: string; cpu?: CpuSource[] },
      connections = CONNECTIONS,
      cpu?: CpuSource[],
    ) => {
      const floorRuns: LoadResult[] = [];
      const serviceRuns: LoadResult[] = [];
      const referenceRuns: LoadResult[] = [];
      const floorCpu: number[][] = [];
      const serviceCpu: number[][] = [];
      const referenceCpu: number[][] = [];
      await webhookLoad(url, text, connections);
      if (reference) {
        await webhookLoad(reference.url, text, connections);
      }
      const floorSources = [processCpu('the floor', floor.pid), LOAD_GENERATOR];
      for (let i = 0; i < RUNS; i += 1) {
        floorRuns.push(await withCpu(() => webhookLoad(floor.url, '你好', connections), floorSources, floorCpu));
        if (reference) {
          referenceRuns.push(
            await withCpu(() => webhookLoad(reference.url, text, connections), reference.cpu ?? [], referenceCpu),
          );
        }
        serviceRuns.push(await withCpu(() => webhookLoad(url, text, connections), cpu ?? [], serviceCpu));
      }
      const f = medianOf(floorRuns);
      const s = medianOf(serviceRuns);
      const ratios = (to: LoadResult[]) => serviceRuns.map((r, i) => (r.rps / to[i].rps).toFixed(2)).join(', ');
      lines.push(
        `webhook ${label}: ${fmt(s)}; floor ${fmt(f)} → ${(s.rps / f.rps).toFixed(2)}× (runs ${ratios(floorRuns)})`,
      );
      if (reference) {
        const r = medianOf(referenceRuns);
        lines.push(
          `  ${reference.label}: ${fmt(r)} → ${(r.rps / f.rps).toFixed(2)}× the floor; the service ${(s.rps / r.rps).toFixed(2)}× it (runs ${ratios(referenceRuns)})`,
        );
      }
      if (cpu) {
        const groups = [{ sources: cpu, runs: serviceCpu }];
        if (reference?.cpu) {
          groups.push({ sources: reference.cpu, runs: referenceCpu });
        }
        lines.push(cpuLine([...groups, { sources: floorSources, runs: floorCpu }], f.rps, s.rps));
      }
    };
    await measure(off.url, '你好', 'forwarding off');
    await off.stop();
    const on = await startService(
      { ...env, WECHAT_OA_FORWARD_URL: `http://127.0.0.1:${backendPort}/wechat/forward`, FORWARD_SECRET: SECRET },
      await freePort(),
      SERVER_CPU,
    );
    processes.push(on);
    // The floor of forwarding: the floor plus the POST to the same backend, no database.
    const forwardFloorPort = await freePort();
    const forwardFloor = await spawnAndWait(
      process.execPath,
      [...tsNode, join(ROOT, 'bench', 'floor-webhook.ts')],
      {
        ...env,
        ...tsEnv,
        PORT: String(forwardFloorPort),
        FLOOR_FORWARD_URL: `http://127.0.0.1:${backendPort}/wechat/forward`,
        FORWARD_SECRET: SECRET,
      },
      forwardFloorPort,
      { cpu: SERVER_CPU },
    );
    processes.push(forwardFloor);
    // No rule matches this text: the backend's reply (after ~1 ms) is the passive reply.
    await check(on.url, '转发', 'forwarding on');
    await check(forwardFloor.url, '转发', 'forwarding floor');
    const backendCpu = processCpu('the team backend', backend.pid);
    const forwardingCpu: CpuSource[] = [
      processCpu('the service', on.pid),
      { label: 'PostgreSQL', seconds: postgresCpuSeconds },
      backendCpu,
      LOAD_GENERATOR,
    ];
    const forwardingFloor = {
      url: forwardFloor.url,
      label: 'forwarding floor (the floor + the POST, no database)',
      cpu: [processCpu('the forwarding floor', forwardFloor.pid), backendCpu, LOAD_GENERATOR],
    };
    await measure(on.url, '转发', 'forwarding on (backend ~1 ms)', forwardingFloor, CONNECTIONS, forwardingCpu);
    // At 50 connections each process wakes for fewer requests at a time (smaller batches, fewer events per wake-up),
    // so every one of them spends more CPU per delivery; with more connections each of the three is measured busy.
    await measure(
      on.url,
      '转发',
      `forwarding on, ${SATURATION_CONNECTIONS} connections`,
      forwardingFloor,
      SATURATION_CONNECTIONS,
      forwardingCpu,
    );
  } finally {
    for (const running of processes.reverse()) {
      await running.stop();
    }
  }
  return lines;
}

/** This script's own process: autocannon runs in it, so its CPU is the load generator's. */
const LOAD_GENERATOR: CpuSource = {
  label: 'the load generator',
  seconds: () => {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1e6;
  },
};

/** Runs `run`, and pushes onto `into` each source's CPU µs per request answered in it. */
async function withCpu(run: () => Promise<LoadResult>, sources: CpuSource[], into: number[][]): Promise<LoadResult> {
  const { result, us } = await cpuPerRequest(run, sources);
  into.push(us);
  return result;
}

/**
 * Each process's CPU per request (medians of the runs) in each group — the service's first, then what it is compared
 * with — and what the first group's total allows on this machine's cores at best: every core busy all the time,
 * against the floor's measured rate, and how much of that rate the service reached. The floor's own core is its
 * bound; a forwarded delivery's four processes share the machine's.
 */
function cpuLine(groups: { sources: CpuSource[]; runs: number[][] }[], floorRps: number, serviceRps: number): string {
  const described = groups.map(({ sources, runs }) => {
    const us = sources.map((_, i) => median(runs.map((run) => run[i])));
    const total = us.reduce((sum, value) => sum + value, 0);
    const each = sources.map((source, i) => `${source.label} ${Math.round(us[i])}`).join(', ');
    return { text: `${each}: ${Math.round(total)} in all`, total };
  });
  // The machine's cores, not this process's: it is pinned to one.
  const cores = cpus().length;
  const cap = (cores * 1e6) / described[0].total;
  return (
    `  CPU per request (µs, medians): ${described.map(({ text }) => text).join('; ')}. ` +
    `${cores} cores busy all the time would carry at most ${Math.round(cap)} forwarded deliveries/s, ` +
    `${(cap / floorRps).toFixed(2)}× the floor; the service reached ${Math.round((100 * serviceRps) / cap)} % of that`
  );
}
