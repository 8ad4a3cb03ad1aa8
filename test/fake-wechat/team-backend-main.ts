import { echoBehaviour, LATE_KEYWORD, TeamBackend } from 'test/fake-wechat/team-backend';

/**
 * The tiny team backend standalone (sandbox, benchmark): TEAM_BACKEND_PORT (default 4100), FORWARD_SECRET, and
 * TEAM_BACKEND_DELAY_MS to answer every forward after that many ms with a fixed text reply (benchmark) instead of
 * the sandbox's echo.
 */
async function main(): Promise<void> {
  const secret = process.env.FORWARD_SECRET ?? '';
  const delay = process.env.TEAM_BACKEND_DELAY_MS;
  const backend = new TeamBackend(secret, delay === undefined);
  if (delay !== undefined) {
    backend.behaviour = () => ({ body: { reply: { type: 'text', content: '你好呀' } }, delayMs: Number(delay) });
  } else {
    backend.behaviour = echoBehaviour;
  }
  const url = await backend.start(Number(process.env.TEAM_BACKEND_PORT ?? 4100));
  process.stdout.write(
    `Team backend listening at ${url}: echoes texts; "${LATE_KEYWORD}" is answered after 6 s (a customer-service message)\n`,
  );
  const stop = (): void => void backend.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
