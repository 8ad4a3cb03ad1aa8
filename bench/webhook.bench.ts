import type autocannon from 'autocannon';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import {
  fmt,
  freePort,
  load,
  LoadResult,
  median,
  medianOf,
  memoryOf,
  ROOT,
  RunningProcess,
  spawnAndWait,
  startService,
} from 'bench/support';
import { DEMO_APPS } from 'test/fake-wechat/fake-wechat.server';
import { createTestDatabase } from 'test/support/test-database';
import { WebhookMode, WeChatSigner, wechatMessages } from 'test/support/wechat-signer';

const OA = DEMO_APPS[0];
const TOKEN = 'benchToken2026';
const AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const ADMIN_KEY = 'bench-admin-key-0123456789';
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
/** BENCH_MODES=plain (or safe) measures one mode only; both by default; empty: only the multi-account runs. */
const MODES = (process.env.BENCH_MODES ?? 'plain,safe').split(',').filter(Boolean) as WebhookMode[];
/** The server gets core 0, the load generator (this process) core 1. */
const SERVER_CPU = '0';
const LOAD_CPU = '1';
const TARGET_RATIO = 0.65;
/** Official accounts the multi-account run spreads its deliveries over (the env one and API ones); 0 skips it. */
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 20);

/** Where a delivery goes and how it is signed: one of these per official account. */
interface Target {
  path: string;
  signer: WeChatSigner;
  toUserName: string;
}

/**
 * Issue #4's benchmark: text message → passive reply, 50 connections, a distinct MsgId per request, on PostgreSQL,
 * plaintext and safe mode, against the bare node:http floor (bench/floor-webhook.ts) in the same run. Prints
 * requests/s, p50/p99, peak RSS and the ratio to the floor (medians of RUNS runs, interleaved). Then issue #12's:
 * the same in plaintext with ACCOUNTS official accounts configured (API accounts on /wechat/webhook/:appid, each with
 * its own Token and rule) and deliveries spread over them, against the single-account ratio of the same runs.
 */
export async function run(): Promise<void> {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-if-stale.js')], { cwd: ROOT, stdio: 'inherit' });
  execFileSync('taskset', ['-cp', LOAD_CPU, String(process.pid)], { stdio: 'ignore' });
  const db = await createTestDatabase();
  const env = {
    NODE_ENV: 'production',
    DATABASE_URL: db.url,
    DATA_ENCRYPTION_KEY: Buffer.alloc(32, 4).toString('base64'),
    ADMIN_API_KEY: ADMIN_KEY,
    WECHAT_API_BASE: 'http://127.0.0.1:9',
    WECHAT_OA_APPID: OA.appid,
    WECHAT_OA_TOKEN: TOKEN,
    WECHAT_OA_AES_KEY: AES_KEY,
  };
  let service: RunningProcess | undefined;
  let floor: RunningProcess | undefined;
  try {
    service = await startService(env, await freePort(), SERVER_CPU);
    const floorPort = await freePort();
    floor = await spawnAndWait(
      process.execPath,
      [
        '-r',
        'ts-node/register/transpile-only',
        '-r',
        'tsconfig-paths/register',
        join(ROOT, 'bench', 'floor-webhook.ts'),
      ],
      { ...env, PORT: String(floorPort), TS_NODE_PROJECT: join(ROOT, 'tsconfig.json') },
      floorPort,
      { cpu: SERVER_CPU },
    );
    const rule = await fetch(`${service.url}/admin/auto-replies`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-admin-key': ADMIN_KEY },
      body: JSON.stringify({ match: 'exact', keyword: '你好', reply: { type: 'text', content: '你好呀' } }),
    });
    if (rule.status !== 201) {
      throw new Error(`could not add the bench rule: ${rule.status}`);
    }

    const signer = new WeChatSigner({ token: TOKEN, aesKey: AES_KEY, appId: OA.appid });
    const single: Target[] = [{ path: '/wechat/webhook', signer, toUserName: 'gh_0123456789ab' }];
    let sent = 0;
    const webhookLoad = async (
      url: string,
      mode: WebhookMode,
      targets: Target[] = single,
    ): Promise<LoadResult & { total: number }> => {
      // Bodies and paths are made before the run so the load generator spends its core on sending (not on AES, query
      // strings or copies of the request), and enough of them that no MsgId repeats up to 20,000 requests/s.
      const query = (q: Record<string, string>) => new URLSearchParams(q).toString();
      const pool = Array.from({ length: 20_000 * DURATION_S }, () => {
        sent += 1;
        const target = targets[sent % targets.length];
        const xml = wechatMessages.text('你好', { from: `o-bench-${sent % 1000}`, to: target.toUserName });
        const signed = target.signer.sign(xml, mode);
        return { path: `${target.path}?${query(signed.query)}`, body: signed.body };
      });
      let next = 0;
      const result = await load({
        url,
        duration: DURATION_S,
        connections: 50,
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
      if (next > pool.length) {
        process.stdout.write(`note: ${next} requests outran the ${pool.length} prepared messages; MsgIds repeated\n`);
      }
      return { ...result, total: next };
    };

    // One request of each kind first: the answer must be the passive reply, or the figures mean nothing.
    for (const mode of ['plain', 'safe'] as const) {
      for (const target of [service, floor]) {
        const signed = signer.sign(wechatMessages.text('你好'), mode);
        const res = await fetch(`${target.url}/wechat/webhook?${new URLSearchParams(signed.query)}`, {
          method: 'POST',
          headers: { 'content-type': 'text/xml' },
          body: signed.body,
        });
        const reply = signer.openReply(await res.text());
        if (res.status !== 200 || !reply.includes('你好呀')) {
          throw new Error(
            `${target === floor ? 'floor' : 'service'} ${mode}: unexpected answer ${res.status} ${reply}`,
          );
        }
      }
    }

    const lines: string[] = [];
    for (const mode of MODES) {
      const floorRuns: LoadResult[] = [];
      const serviceRuns: LoadResult[] = [];
      await webhookLoad(service.url, mode);
      await webhookLoad(floor.url, mode);
      for (let i = 0; i < RUNS; i += 1) {
        floorRuns.push(await webhookLoad(floor.url, mode));
        const measured = await webhookLoad(service.url, mode);
        serviceRuns.push(measured);
      }
      const f = medianOf(floorRuns);
      const s = medianOf(serviceRuns);
      const ratio = s.rps / f.rps;
      lines.push(
        `${mode.padEnd(5)} floor   ${fmt(f)}`,
        `${mode.padEnd(5)} service ${fmt(s)}  → ${ratio.toFixed(2)}× the floor (target ≥ ${TARGET_RATIO}×, p99 ≤ 25 ms)`,
        `      runs: floor ${floorRuns.map((r) => Math.round(r.rps)).join(' / ')}, service ${serviceRuns.map((r) => Math.round(r.rps)).join(' / ')} req/s; ratio per run ${serviceRuns.map((r, i) => (r.rps / floorRuns[i].rps).toFixed(2)).join(', ')}`,
      );
    }
    if (ACCOUNTS > 1) {
      lines.push(...(await multiAccount(service.url, floor.url, single[0], webhookLoad)));
    }
    // The HTTP ceiling: the same service refusing every request at the signature check (401: no parsing, no database,
    // in the fast lane ahead of Fastify). The webhook cannot be faster than this.
    const refusedRuns: LoadResult[] = [];
    for (let i = 0; i < RUNS; i += 1) {
      refusedRuns.push(
        await load({
          url: `${service.url}/wechat/webhook?signature=0&timestamp=1&nonce=2`,
          method: 'POST',
          headers: { 'content-type': 'text/xml' },
          body: wechatMessages.text('你好'),
          duration: DURATION_S,
          connections: 50,
        }),
      );
    }
    const refused = medianOf(refusedRuns);
    lines.push(
      `ceiling service refusing at the signature check (401): ${Math.round(refused.rps)} req/s, p50 ${refused.p50} ms, p99 ${refused.p99} ms`,
    );
    const client = new Client({ connectionString: db.url });
    await client.connect();
    const { rows } = await client.query<{ total: string; distinct: string; replied: string }>(
      `SELECT count(*) AS total, count(DISTINCT dedupe_key) AS distinct,
              count(*) FILTER (WHERE reply LIKE '<xml>%') AS replied FROM wechat_inbound_messages`,
    );
    await client.end();
    lines.push(
      `recorded: ${rows[0].total} messages (${rows[0].distinct} distinct MsgIds, ${rows[0].replied} with their passive reply stored)`,
      `peak RSS: service ${memoryOf(service.pid).peakMiB} MiB, floor ${memoryOf(floor.pid).peakMiB} MiB`,
      `server pinned to CPU ${SERVER_CPU}, load generator to CPU ${LOAD_CPU}; ${RUNS} runs of ${DURATION_S} s, 50 connections, medians`,
    );
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await service?.stop();
    await floor?.stop();
    await db.drop();
  }
}

/**
 * ACCOUNTS - 1 API official accounts added through the admin API (each with its own Token and rule), then plaintext
 * runs with deliveries spread over every account's path, interleaved with single-account runs and the floor.
 */
async function multiAccount(
  serviceUrl: string,
  floorUrl: string,
  envTarget: Target,
  webhookLoad: (url: string, mode: WebhookMode, targets?: Target[]) => Promise<LoadResult>,
): Promise<string[]> {
  const targets: Target[] = [envTarget];
  for (let i = 1; i < ACCOUNTS; i += 1) {
    const appid = `wxbench${String(i).padStart(11, '0')}`;
    const token = `benchToken${i}`;
    const headers = { 'content-type': 'application/json', 'x-admin-key': ADMIN_KEY };
    const created = await fetch(`${serviceUrl}/admin/accounts`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ kind: 'official_account', appid, secret: `bench-secret-${i}`, token }),
    });
    const rule = await fetch(`${serviceUrl}/admin/auto-replies?appid=${appid}`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ match: 'exact', keyword: '你好', reply: { type: 'text', content: '你好呀' } }),
    });
    if (created.status !== 201 || rule.status !== 201) {
      throw new Error(`could not add bench account ${appid}: ${created.status} / ${rule.status}`);
    }
    targets.push({ path: `/wechat/webhook/${appid}`, signer: new WeChatSigner({ token }), toUserName: `gh_bench${i}` });
  }
  // Every account answers its own passive reply, or the figures mean nothing.
  for (const target of targets) {
    const signed = target.signer.sign(wechatMessages.text('你好', { to: target.toUserName }), 'plain');
    const res = await fetch(`${serviceUrl}${target.path}?${new URLSearchParams(signed.query)}`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: signed.body,
    });
    const text = await res.text();
    if (res.status !== 200 || !text.includes('你好呀')) {
      throw new Error(`${target.path}: unexpected answer ${res.status} ${text}`);
    }
  }
  const floorRuns: LoadResult[] = [];
  const singleRuns: LoadResult[] = [];
  const manyRuns: LoadResult[] = [];
  await webhookLoad(serviceUrl, 'plain', targets);
  // Alternating which goes first: every run adds rows to the one table, so the second of a pair meets a bigger one.
  for (let i = 0; i < RUNS; i += 1) {
    floorRuns.push(await webhookLoad(floorUrl, 'plain'));
    if (i % 2 === 0) {
      singleRuns.push(await webhookLoad(serviceUrl, 'plain'));
      manyRuns.push(await webhookLoad(serviceUrl, 'plain', targets));
    } else {
      manyRuns.push(await webhookLoad(serviceUrl, 'plain', targets));
      singleRuns.push(await webhookLoad(serviceUrl, 'plain'));
    }
  }
  const ratios = (runs: LoadResult[]) => runs.map((r, i) => r.rps / floorRuns[i].rps);
  const one = median(ratios(singleRuns));
  const many = median(ratios(manyRuns));
  return [
    `plain, ${ACCOUNTS} accounts: service ${fmt(medianOf(manyRuns))}  → ${many.toFixed(2)}× the floor, against ${one.toFixed(2)}× with one account in the same runs (${((many / one - 1) * 100).toFixed(1)} %; target within 10 %)`,
    `      ratio per run: one account ${ratios(singleRuns)
      .map((r) => r.toFixed(2))
      .join(', ')}; ${ACCOUNTS} accounts ${ratios(manyRuns)
      .map((r) => r.toFixed(2))
      .join(', ')}`,
  ];
}
