import autocannon from 'autocannon';
import { ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serviceArgv } from 'test/support/service-process';

export { freePort } from 'test/support/free-port';

/** Shared pieces of the benchmark scripts: processes, ports, load, statistics. Not used by tests. */
export const ROOT = join(__dirname, '..');

export interface RunningProcess {
  child: ChildProcess;
  url: string;
  pid: number;
  /** Milliseconds from spawn to the first healthy answer. */
  startupMs: number;
  stop(): Promise<void>;
}

/** CPU seconds (user + system) a process has used so far, all its threads (Linux /proc; clock ticks of 1/100 s). */
export function processCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * CPU seconds used so far by every PostgreSQL server process on this machine (the postmaster, its backends and
 * helpers): the database's share of a load, read off /proc as `processCpuSeconds` does. A process that exits between
 * two readings takes its seconds with it, so a difference is a lower bound (autovacuum workers come and go).
 */
export function postgresCpuSeconds(): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') {
        total += processCpuSeconds(Number(entry));
      }
    } catch {
      // the process ended while being read
    }
  }
  return total;
}

/** A process (or group of processes) a load run's CPU is charged to. */
export interface CpuSource {
  label: string;
  /** CPU seconds used so far. */
  seconds: () => number;
}

/** The process `pid` as a CpuSource (all its threads). */
export const processCpu = (label: string, pid: number): CpuSource => ({
  label,
  seconds: () => processCpuSeconds(pid),
});

/** Runs `run`, and gives each source's CPU µs per request answered in it, in the order of `sources`. */
export async function cpuPerRequest(
  run: () => Promise<LoadResult>,
  sources: CpuSource[],
): Promise<{ result: LoadResult; us: number[] }> {
  const before = sources.map((source) => source.seconds());
  const result = await run();
  return {
    result,
    us: sources.map((source, i) => ((source.seconds() - before[i]) * 1e6) / Math.max(1, result.requests)),
  };
}

/** Current and peak resident memory of a process, in MiB (Linux /proc). */
export function memoryOf(pid: number): { rssMiB: number; peakMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rssMiB: Math.round(kib('VmRSS') / 1024), peakMiB: Math.round(kib('VmHWM') / 1024) };
}

/**
 * Spawns `command args` (optionally pinned with taskset to `cpu`) and waits until `healthPath` answers 200.
 */
export async function spawnAndWait(
  command: string,
  args: string[],
  env: Record<string, string | undefined>,
  port: number,
  options: { healthPath?: string; cpu?: string; quiet?: boolean } = {},
): Promise<RunningProcess> {
  const started = process.hrtime.bigint();
  const [cmd, argv] = options.cpu ? ['taskset', ['-c', options.cpu, command, ...args]] : [command, args];
  const child = spawn(cmd, argv, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env } as NodeJS.ProcessEnv,
    stdio: ['ignore', options.quiet === false ? 'inherit' : 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const health = `${url}${options.healthPath ?? '/health'}`;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`${command} ${args.join(' ')} exited with ${child.exitCode}`);
    }
    try {
      if ((await fetch(health)).ok) {
        break;
      }
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const startupMs = Number(process.hrtime.bigint() - started) / 1e6;
  return {
    child,
    url,
    pid: child.pid!,
    startupMs,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) {
          resolve();
          return;
        }
        child.on('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/**
 * A rate limit no benchmark reaches: the limiter is consulted on every limited route, as in production, but the load
 * generator's one IP is never refused (the figures measure the work, not 429s). A bench's `env` may override it.
 */
export const UNREACHED_RATE_LIMIT = { RATE_LIMIT_PER_MINUTE: '1000000000' };

/** The built service with `env`, as `npm start` runs it; run `npx nest build` first. */
export function startService(
  env: Record<string, string | undefined>,
  port: number,
  cpu?: string,
): Promise<RunningProcess> {
  return spawnAndWait(process.execPath, serviceArgv(), { ...UNREACHED_RATE_LIMIT, ...env, PORT: String(port) }, port, {
    cpu,
  });
}

/** The WeChat emulator in its own process, so the load generator does not share its event loop. */
export function startEmulator(port: number, cpu?: string): Promise<RunningProcess> {
  return spawnAndWait(
    process.execPath,
    [
      '-r',
      'ts-node/register/transpile-only',
      '-r',
      'tsconfig-paths/register',
      join(ROOT, 'test', 'fake-wechat', 'main.ts'),
    ],
    { EMULATOR_PORT: String(port), TS_NODE_PROJECT: join(ROOT, 'tsconfig.json') },
    port,
    { healthPath: '/__control/calls', cpu },
  );
}

export interface LoadResult {
  rps: number;
  /** Requests answered in the run. */
  requests: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

/** BENCH_DURATION_S: seconds per load run (default 10), e.g. 2 for a quick check that the benches work. */
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);

export async function load(options: autocannon.Options): Promise<LoadResult> {
  const result = await autocannon({ connections: 50, duration: DURATION_S, ...options });
  return {
    rps: result.requests.average,
    requests: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Median of each figure over several runs. */
export function medianOf(results: LoadResult[]): LoadResult {
  const pick = (key: keyof LoadResult) => median(results.map((result) => result[key]));
  return {
    rps: pick('rps'),
    requests: pick('requests'),
    p50: pick('p50'),
    p99: pick('p99'),
    non2xx: results.reduce((sum, r) => sum + r.non2xx, 0),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    timeouts: results.reduce((sum, r) => sum + r.timeouts, 0),
  };
}

export const fmt = (result: LoadResult): string =>
  `${Math.round(result.rps)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms` +
  (result.non2xx || result.errors ? ` (non-2xx ${result.non2xx}, errors ${result.errors})` : '');

export async function postJson<T>(url: string, body: unknown): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return (await res.json()) as T;
}
