import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { DEMO_APPS } from 'test/fake-wechat/fake-wechat.server';
import { createTestDatabase } from 'test/support/test-database';
import {
  fmt,
  freePort,
  load,
  LoadResult,
  median,
  medianOf,
  memoryOf,
  postJson,
  ROOT,
  spawnAndWait,
  startEmulator,
  startService,
} from 'bench/support';

const MP = DEMO_APPS[1];
const OA = DEMO_APPS[0];
const ADMIN_KEY = 'bench-admin-key-0123456789';
const RUNS = 3;

/**
 * Mini-program logins (a new user each), token reads, start-up time and memory — issue #3's benchmark — and
 * `GET /jssdk/config` signatures (issue #12), read the same way as tokens.
 */
export async function run(): Promise<void> {
  const emulator = await startEmulator(await freePort());
  const db = await createTestDatabase();
  const env = {
    DATABASE_URL: db.url,
    WECHAT_API_BASE: emulator.url,
    WECHAT_OPEN_BASE: emulator.url,
    WECHAT_MP_APPID: MP.appid,
    WECHAT_MP_SECRET: MP.secret,
    WECHAT_OA_APPID: OA.appid,
    WECHAT_OA_SECRET: OA.secret,
    ADMIN_API_KEY: ADMIN_KEY,
    DATA_ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'),
    NODE_ENV: 'production',
    JSSDK_ALLOWED_HOSTS: 'localhost',
  };
  try {
    // Start-up to a healthy /health: PostgreSQL (first start runs the migrations, so measure later starts).
    const pgStarts: number[] = [];
    for (let i = 0; i < RUNS + 1; i += 1) {
      const instance = await startService(env, await freePort());
      pgStarts.push(instance.startupMs);
      await instance.stop();
    }
    const embeddedStarts: number[] = [];
    const dataDir = mkdtempSync(join(tmpdir(), 'wx-bench-pglite-'));
    for (let i = 0; i < RUNS + 1; i += 1) {
      const instance = await startService({ ...env, DATABASE_URL: undefined, PGLITE_DIR: dataDir }, await freePort());
      embeddedStarts.push(instance.startupMs);
      await instance.stop();
    }
    rmSync(dataDir, { recursive: true, force: true });

    const service = await startService(env, await freePort());
    const floorPort = await freePort();
    const floor = await spawnAndWait(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', join(ROOT, 'bench', 'floor-login.ts')],
      { ...env, PORT: String(floorPort), TS_NODE_PROJECT: join(ROOT, 'tsconfig.json') },
      floorPort,
    );
    const idle = memoryOf(service.pid);

    const codes = async (count: number) =>
      (await postJson<{ codes: string[] }>(`${emulator.url}/__control/jscodes`, { count })).codes;
    const loginLoad = async (url: string, path: string): Promise<LoadResult> => {
      const pool = await codes(40_000);
      let next = 0;
      return load({
        url,
        requests: [
          {
            method: 'POST',
            path,
            headers: { 'content-type': 'application/json' },
            setupRequest: (request) => {
              request.body = JSON.stringify({ code: pool[next++] });
              return request;
            },
          },
        ],
      });
    };
    // Warm both up, then alternate runs so noise on the shared machine hits both alike.
    await loginLoad(service.url, '/miniprogram/login');
    await loginLoad(floor.url, '/login');
    const ours: LoadResult[] = [];
    const floors: LoadResult[] = [];
    for (let i = 0; i < RUNS; i += 1) {
      floors.push(await loginLoad(floor.url, '/login'));
      ours.push(await loginLoad(service.url, '/miniprogram/login'));
    }
    const tokenRuns: LoadResult[] = [];
    for (let i = 0; i < RUNS; i += 1) {
      tokenRuns.push(
        await load({
          url: `${service.url}/admin/token?appid=${MP.appid}`,
          headers: { 'x-admin-key': ADMIN_KEY },
        }),
      );
    }
    // Same method for wx.config signatures: the ticket is in memory after the first request.
    const page = encodeURIComponent('http://localhost/h5/index.html?from=bench');
    const jssdkRuns: LoadResult[] = [];
    for (let i = 0; i < RUNS; i += 1) {
      jssdkRuns.push(await load({ url: `${service.url}/jssdk/config?url=${page}` }));
    }
    const peak = memoryOf(service.pid);
    await Promise.all([service.stop(), floor.stop()]);

    const login = medianOf(ours);
    const floorLogin = medianOf(floors);
    const lines = [
      `Mini-program login, new user each, 50 connections, median of ${RUNS} runs:`,
      `  service: ${fmt(login)}`,
      `  floor (bench/floor-login.ts): ${fmt(floorLogin)}`,
      `  ratio: ${(login.rps / floorLogin.rps).toFixed(2)}x the floor (per run: ${ours
        .map((r, i) => (r.rps / floors[i].rps).toFixed(2))
        .join(', ')})`,
      `GET /admin/token (cache hit), 50 connections: ${fmt(medianOf(tokenRuns))}`,
      `GET /jssdk/config (cache hit), 50 connections: ${fmt(medianOf(jssdkRuns))}`,
      `Start-up to healthy /health: PostgreSQL median ${Math.round(median(pgStarts.slice(1)))} ms (first start with migrations ${Math.round(pgStarts[0])} ms); embedded PGlite median ${Math.round(median(embeddedStarts.slice(1)))} ms (first start, new data folder ${Math.round(embeddedStarts[0])} ms)`,
      `Service RSS: idle ${idle.rssMiB} MiB, peak ${peak.peakMiB} MiB`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await emulator.stop();
    await db.drop();
  }
}
