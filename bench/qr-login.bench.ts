import type autocannon from 'autocannon';
import { execFileSync } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { Client } from 'pg';
import {
  fmt,
  freePort,
  load,
  LoadResult,
  memoryOf,
  ROOT,
  RunningProcess,
  spawnAndWait,
  startEmulator,
  startService,
} from 'bench/support';
import { DEMO_APPS } from 'test/fake-wechat/fake-wechat.server';
import { createTestDatabase } from 'test/support/test-database';
import { toXml, WeChatSigner, wechatMessages } from 'test/support/wechat-signer';

const OA = DEMO_APPS[0];
const TOKEN = 'benchQrToken26';
const AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const ADMIN_KEY = 'bench-admin-key-0123456789';
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
/** Scan → stream latency samples, and streams held open for the memory and webhook figures. */
const ATTEMPTS = Number(process.env.BENCH_QR_ATTEMPTS ?? 200);
const STREAMS = Number(process.env.BENCH_QR_STREAMS ?? 2000);
const SERVER_CPU = '0';
const LOAD_CPU = '1';

interface Desktop {
  id: string;
  cookie: string;
  scene: string;
}

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

/**
 * Issue #13's benchmark, on PostgreSQL with two instances and the emulator: (1) scan → the desktop's stream on the
 * other instance sees `scanned`, p50/p99 over ATTEMPTS attempts (target p99 ≤ 200 ms); (2) STREAMS open streams on one
 * instance: RSS growth (target ≤ 100 MiB) and the webhook's ratio to the bare floor while they are open, against the
 * ratio without them (target within 10 %); (3) `POST /qr-login` requests/s against the emulator.
 */
export async function run(): Promise<void> {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-if-stale.js')], { cwd: ROOT, stdio: 'inherit' });
  execFileSync('taskset', ['-cp', LOAD_CPU, String(process.pid)], { stdio: 'ignore' });
  const db = await createTestDatabase();
  const emulator = await startEmulator(await freePort(), LOAD_CPU);
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
    LOG_LEVEL: 'warn',
  };
  const processes: RunningProcess[] = [emulator];
  const client = new Client({ connectionString: db.url });
  const agent = new Agent({ keepAlive: true, maxSockets: STREAMS + 100 });
  try {
    const a = await startService(env, await freePort(), SERVER_CPU);
    processes.push(a);
    const b = await startService(env, await freePort(), LOAD_CPU);
    processes.push(b);
    await client.connect();
    const signer = new WeChatSigner({ token: TOKEN, aesKey: AES_KEY, appId: OA.appid });

    const newDesktop = async (at: string): Promise<Desktop> => {
      const res = await fetch(`${at}/qr-login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      if (res.status !== 201) {
        throw new Error(`POST /qr-login answered ${res.status}: ${await res.text()}`);
      }
      const { id } = (await res.json()) as { id: string };
      const cookie = res.headers.getSetCookie()[0].split(';')[0];
      const { rows } = await client.query<{ scene: string }>('SELECT scene FROM qr_login_attempts WHERE id = $1', [id]);
      return { id, cookie, scene: rows[0].scene };
    };
    /** Opens the stream; resolves once its first event came, with a promise of the moment `scanned` arrives. */
    const openStream = (at: string, desktop: Desktop) =>
      new Promise<{ scanned: Promise<number>; close: () => void }>((resolve, reject) => {
        const req = httpRequest(`${at}/qr-login/${desktop.id}/events`, { headers: { cookie: desktop.cookie }, agent });
        req.on('response', (res) => {
          let seen = '';
          let first = true;
          let onScanned: (at: number) => void = () => undefined;
          const scanned = new Promise<number>((done) => (onScanned = done));
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            seen += chunk;
            if (first && seen.includes('"pending"')) {
              first = false;
              resolve({ scanned, close: () => req.destroy() });
            }
            if (seen.includes('"scanned"')) {
              onScanned(performance.now());
            }
          });
        });
        req.on('error', reject);
        req.end();
      });
    const sendScan = async (at: string, desktop: Desktop, openid: string) => {
      const xml = toXml({
        ToUserName: 'gh_bench0000001',
        FromUserName: openid,
        CreateTime: Math.floor(Date.now() / 1000),
        MsgType: 'event',
        Event: 'SCAN',
        EventKey: desktop.scene,
      });
      const signed = signer.sign(xml, 'plain', openid);
      const res = await fetch(`${at}/wechat/webhook?${new URLSearchParams(signed.query)}`, {
        method: 'POST',
        headers: { 'content-type': 'text/xml' },
        body: signed.body,
      });
      const reply = await res.text();
      if (!reply.includes('确认登录')) {
        throw new Error(`the scan was not taken: ${res.status} ${reply}`);
      }
    };

    const lines: string[] = [];
    // (1) Scan on A, stream on B.
    const latencies: number[] = [];
    for (let i = 0; i < ATTEMPTS; i += 1) {
      const desktop = await newDesktop(a.url);
      const stream = await openStream(b.url, desktop);
      const sent = performance.now();
      await sendScan(a.url, desktop, `o-bench-scan-${i}`);
      latencies.push((await stream.scanned) - sent);
      stream.close();
    }
    lines.push(
      `scan → stream on the other instance, ${ATTEMPTS} attempts: p50 ${percentile(latencies, 50).toFixed(1)} ms, ` +
        `p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms (target p99 ≤ 200 ms)`,
    );

    // (3) POST /qr-login against the emulator (before the streams, so that its figure is of the route alone).
    const created = await load({
      url: `${a.url}/qr-login`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
      connections: 20,
      duration: DURATION_S,
    });
    lines.push(`POST /qr-login (each a /cgi-bin/qrcode/create on the emulator): ${fmt(created)}`);

    // (2) The webhook against its floor, without and with STREAMS open streams on the same instance.
    const floorPort = await freePort();
    const floor = await spawnAndWait(
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
    processes.push(floor);
    await fetch(`${a.url}/admin/auto-replies`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-admin-key': ADMIN_KEY },
      body: JSON.stringify({ match: 'exact', keyword: '你好', reply: { type: 'text', content: '你好呀' } }),
    });
    let sent = 0;
    const webhookLoad = (url: string): Promise<LoadResult> => {
      const pool = Array.from({ length: 10_000 * DURATION_S }, () => {
        sent += 1;
        const signed = signer.sign(wechatMessages.text('你好', { from: `o-bench-${sent % 1000}` }), 'plain');
        return { path: `/wechat/webhook?${new URLSearchParams(signed.query)}`, body: signed.body };
      });
      let next = 0;
      return load({
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
    };
    await webhookLoad(a.url);
    const floorBefore = await webhookLoad(floor.url);
    const before = await webhookLoad(a.url);
    const rssBefore = memoryOf(a.pid).rssMiB;
    const desktops: Desktop[] = [];
    for (let i = 0; i < STREAMS; i += 1) {
      desktops.push(await newDesktop(a.url));
    }
    const rssAttempts = memoryOf(a.pid).rssMiB;
    const streams = [];
    for (const desktop of desktops) {
      streams.push(await openStream(a.url, desktop));
    }
    const rssStreams = memoryOf(a.pid).rssMiB;
    const floorWith = await webhookLoad(floor.url);
    const withStreams = await webhookLoad(a.url);
    const rssAfter = memoryOf(a.pid).rssMiB;
    streams.forEach((stream) => stream.close());
    const ratioBefore = before.rps / floorBefore.rps;
    const ratioWith = withStreams.rps / floorWith.rps;
    lines.push(
      `${STREAMS} open streams on one instance: RSS ${rssBefore} → ${rssStreams} MiB (+${rssStreams - rssBefore} MiB; ` +
        `${rssAttempts - rssBefore} of it making the attempts), ${rssAfter} MiB after the webhook load (target ≤ +100 MiB)`,
      `webhook without streams: ${fmt(before)}; floor ${fmt(floorBefore)} → ${ratioBefore.toFixed(2)}×`,
      `webhook with ${STREAMS} streams: ${fmt(withStreams)}; floor ${fmt(floorWith)} → ${ratioWith.toFixed(2)}× ` +
        `(${(((ratioWith - ratioBefore) / ratioBefore) * 100).toFixed(1)} %; target within 10 %)`,
    );
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    agent.destroy();
    await client.end().catch(() => undefined);
    for (const each of processes.reverse()) {
      await each.stop();
    }
    await db.drop();
  }
}
