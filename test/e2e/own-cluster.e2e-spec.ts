import { execFileSync, spawnSync } from 'node:child_process';
import { freePort } from 'test/support/free-port';
import { dropOrphanClusters } from 'test/support/own-cluster';

const lsclusters = (): string[] =>
  execFileSync('pg_lsclusters', ['-h'], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.split(/\s+/)[1]);

/**
 * The reliability tests' own PostgreSQL clusters: an interrupted run (Ctrl-C, a killed CI job) cannot drop its
 * cluster, so the next run does. A cluster of a live process, another run going on now, is left alone.
 */
describe('own PostgreSQL clusters', () => {
  const version = execFileSync('pg_lsclusters', ['-h'], { encoding: 'utf8' }).trim().split(/\s+/)[0];
  const made: string[] = [];
  const make = async (name: string) => {
    execFileSync('pg_createcluster', [version, name, '-p', String(await freePort()), '--', '--auth', 'trust'], {
      stdio: 'ignore',
    });
    made.push(name);
  };

  afterAll(() => {
    for (const name of made.filter((cluster) => lsclusters().includes(cluster))) {
      execFileSync('pg_dropcluster', ['--stop', version, name], { stdio: 'ignore' });
    }
  });

  it('should drop a cluster whose making process is gone and keep one whose process lives', async () => {
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    await make(`rel_orphan_${gone}_a1b2c3`);
    await make(`rel_alive_${process.pid}_d4e5f6`);

    expect(dropOrphanClusters(version)).toContain(`rel_orphan_${gone}_a1b2c3`);
    const left = lsclusters();
    expect(left).not.toContain(`rel_orphan_${gone}_a1b2c3`);
    expect(left).toContain(`rel_alive_${process.pid}_d4e5f6`);
    expect(left).toContain('main');
  });
});
