import { execFileSync } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from 'test/support/free-port';
import { DEMO_APPS, FakeWeChat } from 'test/fake-wechat/fake-wechat.server';
import { mintOAuthCode, setAuthorizeMode } from 'test/fake-wechat/routes/oauth.routes';
import { startServiceProcess } from 'test/support/service-process';
import { UNREACHED_RATE_LIMIT } from 'bench/support';
import { createTestDatabase } from 'test/support/test-database';

/**
 * Complete web logins per second: GET /oauth/authorize → WeChat's authorize URL (the emulator answering 允许 at
 * once, a new WeChat user each time) → GET /oauth/callback → GET /api/me with the new sid cookie. The service runs
 * as production does (`node dist/main.js`, NODE_ENV=production) on a fresh PostgreSQL database; the emulator and
 * the load run in this process. Not a test: `npm run bench -- oauth`, or
 * `npx ts-node -r tsconfig-paths/register --transpile-only -e "require('./bench/oauth.bench').run()"`.
 */

const OA = DEMO_APPS[0];
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 10_000);
const WARMUP_MS = 3_000;
const RUNS = 3;
/** BENCH_MINT_CODES=1: skip the HTTP hop to WeChat's authorize URL (not the service's work) and mint codes here. */
const MINT_CODES = process.env.BENCH_MINT_CODES === '1';
/** BENCH_SERVICE_NODE_OPTIONS: NODE_OPTIONS of the service only (e.g. `--require ./experiment.js`). */
const SERVICE_NODE_OPTIONS = process.env.BENCH_SERVICE_NODE_OPTIONS;
/** BENCH_CPU_PROFILE=<prefix>: CPU-profile the service (bench/cpu-profile.js) into <prefix>-<pid>.cpuprofile. */
const CPU_PROFILE = process.env.BENCH_CPU_PROFILE;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS * 2 });

function get(url: string, cookie?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent, headers: cookie ? { cookie } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function cookieOf(answer: Answer, name: string): string {
  const lines = answer.headers['set-cookie'] ?? [];
  const line = (Array.isArray(lines) ? lines : [lines]).find((item) => item.startsWith(`${name}=`));
  if (!line) {
    throw new Error(`no ${name} cookie (status ${answer.status})`);
  }
  return line.split(';')[0];
}

function expectStatus(answer: Answer, status: number, step: string): void {
  if (answer.status !== status) {
    throw new Error(`${step}: expected ${status}, got ${answer.status} ${answer.body.slice(0, 200)}`);
  }
}

/** One complete login as a browser does it; resolves when /api/me has answered 200. */
async function roundTrip(service: string, fake: FakeWeChat): Promise<void> {
  const start = await get(`${service}/oauth/authorize?returnTo=%2Fhome`);
  expectStatus(start, 302, 'authorize');
  const browser = cookieOf(start, 'wx_oauth');
  let callbackPath: string;
  if (MINT_CODES) {
    // WeChat's side of the authorization without its HTTP hop: the code minted in this process.
    const state = new URL(String(start.headers.location)).searchParams.get('state') ?? '';
    callbackPath = `/oauth/callback?code=${mintOAuthCode(fake, { appid: OA.appid })}&state=${state}`;
  } else {
    const wechat = await get(String(start.headers.location).replace(/#wechat_redirect$/, ''));
    expectStatus(wechat, 302, 'wechat authorize');
    const back = new URL(String(wechat.headers.location));
    callbackPath = `${back.pathname}${back.search}`;
  }
  const callback = await get(`${service}${callbackPath}`, browser);
  expectStatus(callback, 302, 'callback');
  const me = await get(`${service}/api/me`, cookieOf(callback, 'sid'));
  expectStatus(me, 200, '/api/me');
}

interface RunResult {
  perSecond: number;
  p50: number;
  p99: number;
  errors: number;
  /** CPU milliseconds the service process spent per completed round trip. */
  serviceCpuMs: number;
  /** Share of one core the service and this process (load + emulator) used: is either the bottleneck? */
  serviceBusy: number;
  benchBusy: number;
  /** CPU milliseconds per round trip of all PostgreSQL processes, and of the whole machine (every core). */
  postgresCpuMs: number;
  machineCpuMs: number;
}

async function measure(service: string, fake: FakeWeChat, durationMs: number): Promise<RunResult> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: unknown;
  const deadline = Date.now() + durationMs;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < deadline) {
        const t0 = process.hrtime.bigint();
        try {
          await roundTrip(service, fake);
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        } catch (error) {
          errors += 1;
          firstError ??= error;
        }
      }
    }),
  );
  const elapsedS = Number(process.hrtime.bigint() - started) / 1e9;
  if (firstError) {
    process.stderr.write(`first error: ${String(firstError)}\n`);
  }
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return {
    perSecond: latencies.length / elapsedS,
    p50: at(0.5),
    p99: at(0.99),
    errors,
    serviceCpuMs: NaN,
    serviceBusy: NaN,
    benchBusy: NaN,
    postgresCpuMs: NaN,
    machineCpuMs: NaN,
  };
}

/** CPU seconds (user + system) of a /proc/<pid>/stat line (clock ticks of 1/100 s). */
function cpuSecondsOf(stat: string): number {
  const fields = stat.split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds a process has used so far (Linux /proc). */
function cpuSeconds(pid: number): number {
  return cpuSecondsOf(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/** CPU seconds used so far by every PostgreSQL process (the server and its backends). */
function postgresCpuSeconds(): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.includes(' (postgres) ')) {
        total += cpuSecondsOf(stat);
      }
    } catch {
      // the process ended meanwhile
    }
  }
  return total;
}

/** Busy CPU seconds of the whole machine so far, all cores: everything but idle and iowait (/proc/stat). */
function machineCpuSeconds(): number {
  const ticks = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return (ticks.reduce((sum, value) => sum + value, 0) - ticks[3] - ticks[4]) / 100;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

export async function run(): Promise<void> {
  // Always a full `nest build`: a stale or half-written dist/ would measure some other code.
  execFileSync(process.execPath, [require.resolve('@nestjs/cli/bin/nest.js'), 'build'], {
    cwd: join(__dirname, '..'),
    stdio: 'inherit',
  });
  const fake = new FakeWeChat();
  await fake.start();
  // Every authorization is a new WeChat user tapping 允许: each round trip creates a user.
  setAuthorizeMode(fake, 'approve', true);
  const db = await createTestDatabase();
  const port = await freePort();
  const service = `http://127.0.0.1:${port}`;
  const starting = startServiceProcess(
    {
      ...UNREACHED_RATE_LIMIT,
      NODE_ENV: 'production',
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
      DATABASE_URL: db.url,
      PUBLIC_BASE_URL: service,
      WECHAT_API_BASE: fake.url,
      WECHAT_OPEN_BASE: fake.url,
      WECHAT_OA_APPID: OA.appid,
      WECHAT_OA_SECRET: OA.secret,
      DATA_ENCRYPTION_KEY: Buffer.alloc(32, 5).toString('base64'),
      NODE_OPTIONS:
        [SERVICE_NODE_OPTIONS, CPU_PROFILE && `--require ${join(__dirname, 'cpu-profile.js')}`]
          .filter(Boolean)
          .join(' ') || undefined,
      CPU_PROFILE_OUT: CPU_PROFILE,
    },
    port,
  );
  // A service that does not start (a bad option, a failed migration) must not leave its database behind.
  const child = await starting.catch(async (error: unknown) => {
    await fake.stop();
    await db.drop();
    throw error;
  });
  const pid = child.child.pid ?? 0;
  try {
    await measure(service, fake, WARMUP_MS);
    // Other work on the machine skews every figure: say how busy it was.
    const loadBefore = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    const runs: RunResult[] = [];
    for (let i = 0; i < RUNS; i += 1) {
      fake.resetCalls();
      const cpuBefore = cpuSeconds(pid);
      const postgresBefore = postgresCpuSeconds();
      const machineBefore = machineCpuSeconds();
      const ownBefore = process.cpuUsage();
      const result = await measure(service, fake, DURATION_MS);
      const trips = (result.perSecond * DURATION_MS) / 1000;
      const own = process.cpuUsage(ownBefore);
      const serviceCpuS = cpuSeconds(pid) - cpuBefore;
      const postgresCpuS = postgresCpuSeconds() - postgresBefore;
      const machineCpuS = machineCpuSeconds() - machineBefore;
      runs.push({
        ...result,
        serviceCpuMs: (serviceCpuS * 1000) / Math.max(trips, 1),
        serviceBusy: (serviceCpuS * 1000) / DURATION_MS,
        benchBusy: (own.user + own.system) / 1000 / DURATION_MS,
        postgresCpuMs: (postgresCpuS * 1000) / Math.max(trips, 1),
        machineCpuMs: (machineCpuS * 1000) / Math.max(trips, 1),
      });
    }
    const lines = [
      `OAuth round trips (authorize → WeChat 允许${MINT_CODES ? ' (codes minted in-process)' : ''} → callback → /api/me), new user each, ${CONNECTIONS} concurrent browsers, ${RUNS} x ${DURATION_MS / 1000} s on PostgreSQL (load average before: ${loadBefore}):`,
      ...runs.map(
        (r, i) =>
          `  run ${i + 1}: ${r.perSecond.toFixed(0)} round trips/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, errors ${r.errors}, service CPU ${r.serviceCpuMs.toFixed(2)} ms/round trip (service ${(r.serviceBusy * 100).toFixed(0)}% of a core, load + emulator ${(r.benchBusy * 100).toFixed(0)}%); PostgreSQL ${r.postgresCpuMs.toFixed(2)} ms, whole machine ${r.machineCpuMs.toFixed(2)} ms per round trip`,
      ),
      `  median: ${median(runs.map((r) => r.perSecond)).toFixed(0)} round trips/s, p99 ${median(runs.map((r) => r.p99)).toFixed(1)} ms (target ≥ 300/s); service CPU ${median(runs.map((r) => r.serviceCpuMs)).toFixed(2)} ms, PostgreSQL ${median(runs.map((r) => r.postgresCpuMs)).toFixed(2)} ms, whole machine ${median(runs.map((r) => r.machineCpuMs)).toFixed(2)} ms per round trip`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (runs.some((r) => r.errors > 0)) {
      process.stderr.write(`service output (tail):\n${child.output().slice(-3000)}\n`);
    }
  } finally {
    child.child.kill('SIGTERM');
    await child.exited;
    agent.destroy();
    await fake.stop();
    await db.drop();
  }
}
