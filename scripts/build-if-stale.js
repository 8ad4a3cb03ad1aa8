// `npm start` for newcomers (and the process tests): build when dist/ is missing or older than any source file.
// Several processes may ask at once (two test files that start the built service): one builds under a lock folder,
// the others wait for it and then find dist/ fresh.
const { statSync, readdirSync, existsSync, mkdirSync, rmSync } = require('node:fs');
const { join } = require('node:path');
const { execFileSync } = require('node:child_process');

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

const root = join(__dirname, '..');
const built = join(root, 'dist', 'main.js');
const lock = join(root, '.build-lock');
const STALE_LOCK_MS = 5 * 60_000;

function stale() {
  const sources = Math.max(newestMtime(join(root, 'src')), statSync(join(root, 'package-lock.json')).mtimeMs);
  return !existsSync(built) || statSync(built).mtimeMs < sources;
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Takes the lock folder (mkdir is atomic); a lock older than a build could take is left over from a crash. */
function acquire() {
  for (;;) {
    try {
      mkdirSync(lock);
      return;
    } catch (error) {
      if (error.code !== 'EEXIST') {
        throw error;
      }
      if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) {
        rmSync(lock, { recursive: true, force: true });
      } else {
        sleep(200);
      }
    }
  }
}

if (stale()) {
  acquire();
  try {
    if (stale()) {
      process.stdout.write('Building the service (dist/ is missing or older than src/)...\n');
      execFileSync(process.execPath, [require.resolve('@nestjs/cli/bin/nest.js'), 'build'], {
        cwd: root,
        stdio: 'inherit',
      });
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
