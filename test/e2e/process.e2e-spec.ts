import { createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { FakeWeChat } from 'test/fake-wechat/fake-wechat.server';
import { prepareLoginCode, preparePhoneCode } from 'test/fake-wechat/routes/mini-program.routes';
import { MP_APP, OA_APP, wiredEnv } from 'test/support/create-test-app';
import { freePort } from 'test/support/free-port';
import { buildService, runServiceToExit, ServiceProcess, startServiceProcess } from 'test/support/service-process';
import { createTestDatabase, TestDatabase } from 'test/support/test-database';

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

/**
 * An address of this machine other than 127.0.0.1: its first IPv4 address on the network, as another machine reaches
 * it; on a machine without one, 127.0.0.2 (Linux answers all of 127.0.0.0/8 on the loopback interface).
 */
function otherLocalAddress(): string {
  const addresses = Object.values(networkInterfaces()).flatMap((entries) => entries ?? []);
  return addresses.find((entry) => entry.family === 'IPv4' && !entry.internal)?.address ?? '127.0.0.2';
}

/** GET /health's status at `address`, or the code of the connection's failure (ECONNREFUSED). */
async function healthAt(address: string, port: number): Promise<number | string> {
  try {
    return (await fetch(`http://${address}:${port}/health`, { signal: AbortSignal.timeout(5000) })).status;
  } catch (error) {
    return ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code ?? String(error);
  }
}

/** The built service as production runs it: `node dist/main.js`. */
describe('Service process (e2e)', () => {
  let fake: FakeWeChat;
  let db: TestDatabase;
  let env: Record<string, string | undefined>;

  beforeAll(async () => {
    buildService();
    fake = new FakeWeChat();
    await fake.start();
    db = await createTestDatabase();
    env = { ...wiredEnv(fake, db.url), LOG_LEVEL: 'debug' };
  });

  afterAll(async () => {
    await fake.stop();
    await db.drop();
  });

  describe('start-up', () => {
    it.each([
      ['PORT', { PORT: 'eighty' }],
      ['WECHAT_OA_AES_KEY', { WECHAT_OA_AES_KEY: 'too-short' }],
      ['DATABASE_URL', { DATABASE_URL: 'mysql://root@localhost/db' }],
      ['DATA_ENCRYPTION_KEY', { NODE_ENV: 'production', DATA_ENCRYPTION_KEY: undefined }],
      ['HOST', { HOST: 'http://127.0.0.1' }],
    ])('should stop with one clear line naming %s when it is bad', async (variable, bad) => {
      const result = await runServiceToExit({ ...env, ...bad });
      expect(result.code).toBe(1);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(variable);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    });

    it('should stop with a clear line when the database is unreachable', async () => {
      const result = await runServiceToExit({ ...env, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/Start-up failed: .*(ECONNREFUSED|connect)/);
    });

    it.each([
      // TEST-NET-3 (RFC 5737): no machine has it.
      ['an address of no interface here', '203.0.113.1', /EADDRNOTAVAIL/],
      // .invalid never resolves (RFC 6761).
      ['a host name that does not resolve', 'no-such-host.invalid', /ENOTFOUND|EAI_AGAIN/],
    ])('should stop with one clear line naming HOST when it is %s', async (_case, host, reason) => {
      const port = await freePort();
      const result = await runServiceToExit({ ...env, HOST: host, PORT: String(port) });
      expect(result.code).toBe(1);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toEqual([expect.stringMatching(`^Start-up failed: cannot listen on ${host}, port ${port} `)]);
      expect(lines[0]).toMatch(reason);
      expect(lines[0]).toMatch(/; check HOST$/);
    });

    it('should stop with one clear line naming PORT when another process listens on it', async () => {
      const taken = createServer();
      await new Promise<void>((resolve) => taken.listen(0, resolve));
      const { port } = taken.address() as { port: number };
      try {
        const result = await runServiceToExit({ ...env, PORT: String(port) });
        expect(result.code).toBe(1);
        expect(result.stderr.trim().split('\n')).toEqual([
          expect.stringMatching(
            /^Start-up failed: cannot listen on every interface, port \d+ .*EADDRINUSE.*; check PORT$/,
          ),
        ]);
      } finally {
        await new Promise((resolve) => taken.close(resolve));
      }
    });
  });

  describe('listening address', () => {
    const other = otherLocalAddress();
    let service: ServiceProcess | undefined;

    afterEach(async () => {
      service?.child.kill('SIGTERM');
      await service?.exited;
      service = undefined;
    });

    it("should answer on 127.0.0.1 but not on the machine's other address with HOST=127.0.0.1", async () => {
      const port = await freePort();
      service = await startServiceProcess({ ...env, HOST: '127.0.0.1' }, port);
      expect(await healthAt('127.0.0.1', port)).toBe(200);
      expect(await healthAt(other, port)).toBe('ECONNREFUSED');
    });

    it("should answer on 127.0.0.1 and on the machine's other address without HOST", async () => {
      const port = await freePort();
      service = await startServiceProcess({ ...env, HOST: undefined }, port);
      expect(await healthAt('127.0.0.1', port)).toBe(200);
      expect(await healthAt(other, port)).toBe(200);
    });
  });

  describe('running', () => {
    let service: ServiceProcess;

    beforeAll(async () => {
      service = await startServiceProcess(env, await freePort());
    });

    afterAll(() => {
      if (service.child.exitCode === null) {
        service.child.kill('SIGKILL');
      }
    });

    it('should never write a secret, session_key, session token, access token or code to its logs', async () => {
      const code = prepareLoginCode(fake, { openid: 'o-log-check' });
      const login = await (await post(`${service.url}/miniprogram/login`, { code })).json();
      const phoneCode = preparePhoneCode(fake);
      const phone = await post(
        `${service.url}/miniprogram/phone`,
        { code: phoneCode },
        { authorization: `Bearer ${login.token}` },
      );
      expect(phone.status).toBe(200);
      fake.inject('/sns/jscode2session', { errcode: 40029, errmsg: 'invalid code' });
      await post(`${service.url}/miniprogram/login`, { code: 'a-rejected-code' });
      fake.inject('/wxa/business/getuserphonenumber', { errcode: 40001 });
      await post(
        `${service.url}/miniprogram/phone`,
        { code: preparePhoneCode(fake) },
        { authorization: `Bearer ${login.token}` },
      );
      await fetch(`${service.url}/api/me?access_token=should-not-be-logged`, {
        headers: { cookie: `sid=${login.token}` },
      });
      // Log lines are written in blocks at least every 200 ms: wait for the last request's line.
      for (let waited = 0; !service.output().includes('GET /api/me') && waited < 3000; waited += 50) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }

      const logs = service.output();
      expect(logs).toContain('GET /api/me');
      expect(logs).toContain('/miniprogram/login');
      const sessionKeys = [
        ...(fake.state.get('mini-program') as { sessionKeys: Map<string, string> }).sessionKeys.values(),
      ];
      const accessTokens = [...(fake.state.get('tokens') as { valid: Map<string, unknown> }).valid.keys()];
      const secrets = [
        MP_APP.secret,
        OA_APP.secret,
        env.ADMIN_API_KEY!,
        env.DATA_ENCRYPTION_KEY!,
        login.token,
        code,
        phoneCode,
        'a-rejected-code',
        'should-not-be-logged',
        ...sessionKeys,
        ...accessTokens,
      ];
      for (const secret of secrets) {
        expect(logs).not.toContain(secret);
      }
      expect(logs).not.toMatch(/session_key/);
    });

    it('should finish an in-flight request on SIGTERM, refuse new ones, and exit 0', async () => {
      fake.inject('/sns/jscode2session', { delayMs: 1500 });
      const inFlight = post(`${service.url}/miniprogram/login`, { code: prepareLoginCode(fake) });
      await new Promise((resolve) => setTimeout(resolve, 300));
      service.child.kill('SIGTERM');
      const res = await inFlight;
      expect(res.status).toBe(200);
      expect((await res.json()).token).toEqual(expect.any(String));
      expect(await service.exited).toBe(0);
      await expect(fetch(`${service.url}/health`)).rejects.toThrow();
    });
  });
});
