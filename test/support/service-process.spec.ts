import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serviceArgv } from 'test/support/service-process';

const ROOT = join(__dirname, '..', '..');
const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
  .scripts;

describe('the service command line', () => {
  it('should be node with the runtime flags, then the built entry, as the tests, the bench and the sandbox start it', () => {
    const argv = serviceArgv();
    expect(argv[argv.length - 1]).toBe(join(ROOT, 'dist', 'main.js'));
    expect(argv).toContain('--max-semi-space-size=64');
  });

  it('should be the same in start:prod and in the Dockerfile, so that production runs what the bench measured', () => {
    expect(scripts['start:prod']).toBe(scripts.start);
    const cmd = /^CMD (\[.*\])$/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
    expect(cmd).not.toBeNull();
    expect((JSON.parse(cmd![1]) as string[]).join(' ')).toBe(scripts.start);
  });
});
