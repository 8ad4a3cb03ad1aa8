import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { freePort } from 'test/support/free-port';

/**
 * A PostgreSQL cluster of its own (Debian's pg_createcluster, as root), for tests that stop the database: the shared
 * server at 127.0.0.1:5432 is never stopped. `drop()` removes it; it also runs when the process exits (a script's
 * process; under Jest a test file's `process` never sees that event), and each new cluster first removes those an
 * interrupted run left behind: its name carries the pid of the process that made it, and a cluster whose process is
 * gone is nobody's.
 */
export interface OwnCluster {
  name: string;
  port: number;
  /** postgres://… of the database `wechat` on it. */
  url: string;
  stop(): void;
  start(): void;
  drop(): void;
}

const run = (command: string, args: string[]): string =>
  execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** The major version of the installed PostgreSQL (the one pg_lsclusters lists first). */
function majorVersion(): string {
  const first = run('pg_lsclusters', ['-h']).trim().split('\n')[0] ?? '';
  const version = first.split(/\s+/)[0];
  if (!version) {
    throw new Error('pg_lsclusters lists no cluster: cannot tell the PostgreSQL version');
  }
  return version;
}

/** `<prefix>_<pid>_<6 hex>`: the name createOwnCluster gives, with the pid of the process that made it. */
const OWN_NAME = /^[a-z][a-z0-9_]*_(\d+)_[0-9a-f]{6}$/;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists, someone else's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Drops the clusters of this naming whose making process is gone (an interrupted run's); returns their names. */
export function dropOrphanClusters(version = majorVersion()): string[] {
  const orphans = run('pg_lsclusters', ['-h'])
    .trim()
    .split('\n')
    .map((line) => line.split(/\s+/))
    .filter(([ver, name]) => ver === version && OWN_NAME.test(name ?? ''))
    .map(([, name]) => name)
    .filter((name) => !isAlive(Number(OWN_NAME.exec(name)![1])));
  for (const name of orphans) {
    try {
      run('pg_dropcluster', ['--stop', version, name]);
    } catch {
      // dropped meanwhile by another run's sweep
    }
  }
  return orphans;
}

export async function createOwnCluster(prefix = 'rel'): Promise<OwnCluster> {
  const version = majorVersion();
  dropOrphanClusters(version);
  const name = `${prefix}_${process.pid}_${randomBytes(3).toString('hex')}`;
  const port = await freePort();
  // fsync off: the cluster is thrown away; the tests measure the service's durability, not the disk's.
  run('pg_createcluster', [
    version,
    name,
    '-p',
    String(port),
    '-o',
    'fsync=off',
    '-o',
    'max_connections=200',
    '--',
    '--auth',
    'trust',
  ]);
  let dropped = false;
  const ctl = (action: string, ...extra: string[]) =>
    run('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, action, ...extra]);
  const drop = () => {
    if (!dropped) {
      dropped = true;
      run('pg_dropcluster', ['--stop', version, name]);
    }
  };
  process.once('exit', () => {
    try {
      drop();
    } catch {
      // already gone
    }
  });
  try {
    ctl('start');
    const client = new Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
    await client.connect();
    await client.query('CREATE DATABASE wechat');
    await client.end();
  } catch (error) {
    drop();
    throw error;
  }
  return {
    name,
    port,
    url: `postgres://postgres@127.0.0.1:${port}/wechat`,
    stop: () => ctl('stop', '-m', 'fast'),
    start: () => ctl('start'),
    drop,
  };
}
