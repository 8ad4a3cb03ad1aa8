import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `npm run bench [-- name…]`: builds the service, then runs every bench/<name>.bench.ts (or the named ones) in turn.
 * Figures go to stdout; docs/BENCHMARKS.md records them with the machine and the command.
 */
async function main(): Promise<void> {
  const root = join(__dirname, '..');
  execFileSync(process.execPath, [require.resolve('@nestjs/cli/bin/nest.js'), 'build'], {
    cwd: root,
    stdio: 'inherit',
  });
  const wanted = process.argv.slice(2);
  const benches = readdirSync(__dirname)
    .filter((file) => file.endsWith('.bench.ts'))
    .map((file) => file.replace(/\.bench\.ts$/, ''))
    .filter((name) => wanted.length === 0 || wanted.includes(name));
  for (const name of benches) {
    process.stdout.write(`\n== ${name}\n`);
    const bench = (await import(join(__dirname, `${name}.bench`))) as { run(): Promise<void> };
    await bench.run();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
