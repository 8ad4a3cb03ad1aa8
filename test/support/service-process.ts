import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/**
 * What follows `node` in package.json's start script (`node <flags> dist/main.js`), the entry made absolute: the one
 * place the service's runtime flags are written, so that these tests, the bench and the sandbox run the service as
 * `npm start` does (the Dockerfile's CMD is checked against it).
 */
export function serviceArgv(): string[] {
  const start = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts
    .start;
  const [node, ...args] = start.trim().split(/\s+/);
  if (node !== 'node' || args[args.length - 1] !== 'dist/main.js') {
    throw new Error(`package.json's start script is not \`node [flags] dist/main.js\`: ${start}`);
  }
  return [...args.slice(0, -1), join(ROOT, 'dist', 'main.js')];
}

/** Builds dist/ when it is missing or stale, exactly as `npm start` does. */
export function buildService(): void {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-if-stale.js')], { cwd: ROOT, stdio: 'pipe' });
}

export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  exited: Promise<number | null>;
}

/** Starts the built service as `npm start` does, with exactly `env` (plus PATH), and waits for it to listen. */
export async function startServiceProcess(
  env: Record<string, string | undefined>,
  port: number,
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, serviceArgv(), {
    cwd: ROOT,
    env: { PATH: process.env.PATH, PORT: String(port), ...env } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`service exited early with ${child.exitCode}: ${output}`);
    }
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) {
        break;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`service did not become healthy: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, url, output: () => output, exited };
}

/** Runs the built service to completion (for start-up failures). */
export function runServiceToExit(
  env: Record<string, string | undefined>,
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, serviceArgv(), {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...env } as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
