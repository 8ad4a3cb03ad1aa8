import { Pool } from 'pg';
import { DEMO_APPS, FakeWeChat } from 'test/fake-wechat/fake-wechat.server';
import { sentMessages } from 'test/fake-wechat/routes/message.routes';
import { ADMIN_KEY, TEST_DATA_KEY } from 'test/support/create-test-app';
import { eventually } from 'test/support/eventually';
import { freePort } from 'test/support/free-port';
import { buildService, ServiceProcess, startServiceProcess } from 'test/support/service-process';
import { createTestDatabase, TestDatabase } from 'test/support/test-database';

const OA = DEMO_APPS[0];
const SEND = '/cgi-bin/message/custom/send';
const COUNT = 120;

/** An instance killed (SIGKILL) in the middle of the queue: another takes over its claimed rows after the lease. */
describe('Outbox with an instance killed mid-queue (e2e, real processes)', () => {
  let fake: FakeWeChat;
  let db: TestDatabase;
  let pool: Pool;
  const processes: ServiceProcess[] = [];

  beforeAll(async () => {
    buildService();
    fake = new FakeWeChat();
    await fake.start();
    db = await createTestDatabase();
    pool = new Pool({ connectionString: db.url, max: 2 });
  });

  afterAll(async () => {
    for (const service of processes) {
      service.child.kill('SIGKILL');
    }
    await pool.end();
    await fake.stop();
    await db.drop();
  });

  const env = () => ({
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATABASE_URL: db.url,
    WECHAT_API_BASE: fake.url,
    WECHAT_OPEN_BASE: fake.url,
    WECHAT_OA_APPID: OA.appid,
    WECHAT_OA_SECRET: OA.secret,
    ADMIN_API_KEY: ADMIN_KEY,
    DATA_ENCRYPTION_KEY: TEST_DATA_KEY,
    // The lease is 2 × this + 5 s: a short time-out keeps the takeover quick.
    WECHAT_HTTP_TIMEOUT_MS: '1000',
  });

  it('should lose nothing: the rest is sent by the other instance, each message once', async () => {
    const first = await startServiceProcess(env(), await freePort());
    processes.push(first);
    const touser = 'o-takeover-follower';
    await pool.query(`INSERT INTO wechat_follower_activity (appid, openid, last_at) VALUES ($1, $2, now())`, [
      OA.appid,
      touser,
    ]);
    // WeChat answers slowly: the first instance holds claimed rows in flight when it dies.
    fake.inject(SEND, { delayMs: 400 }, Infinity);
    const ids: string[] = [];
    for (let i = 0; i < COUNT; i += 1) {
      const res = await fetch(`${first.url}/admin/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-admin-key': ADMIN_KEY },
        body: JSON.stringify({ kind: 'custom', touser, msgtype: 'text', text: { content: `n${i}` } }),
      });
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { id: string }).id);
    }
    await eventually(async () => {
      const rows = await pool.query(`SELECT count(*) FROM wechat_outbound_messages WHERE status = 'sending'`);
      return Number(rows.rows[0].count) > 0 || undefined;
    });
    first.child.kill('SIGKILL');
    await first.exited;
    const stranded = await pool.query(`SELECT count(*) FROM wechat_outbound_messages WHERE status <> 'sent'`);
    expect(Number(stranded.rows[0].count)).toBeGreaterThan(0);
    fake.clearFaults();

    const rest = await startServiceProcess(env(), await freePort());
    processes.push(rest);
    await eventually(
      async () => {
        const rows = await pool.query(`SELECT count(*) FROM wechat_outbound_messages WHERE status = 'sent'`);
        return Number(rows.rows[0].count) === COUNT || undefined;
      },
      30_000,
      'every message to be sent',
    );
    const contents = sentMessages(fake, touser).map((message) => (message.body.text as { content: string }).content);
    // Every message reached WeChat; one the dead instance had in flight may have reached it twice (at least once).
    expect(new Set(contents).size).toBe(COUNT);
    const twice = contents.length - COUNT;
    const inFlightAtKill = 64;
    expect(twice).toBeLessThanOrEqual(inFlightAtKill);
  }, 90_000);
});
