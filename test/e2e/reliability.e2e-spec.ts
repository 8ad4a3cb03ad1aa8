import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { FakeWeChat } from 'test/fake-wechat/fake-wechat.server';
import { sentMessages } from 'test/fake-wechat/routes/message.routes';
import { prepareLoginCode } from 'test/fake-wechat/routes/mini-program.routes';
import { forwardedKey, TeamBackend } from 'test/fake-wechat/team-backend';
import { sendToWebhook, SendResult } from 'test/fake-wechat/webhook-sender';
import { ADMIN_KEY, OA_APP, wiredEnv } from 'test/support/create-test-app';
import { freePort } from 'test/support/free-port';
import { createOwnCluster, OwnCluster } from 'test/support/own-cluster';
import { buildService, ServiceProcess, startServiceProcess } from 'test/support/service-process';
import { createTestDatabase, TestDatabase } from 'test/support/test-database';
import { wechatMessages, WeChatSigner } from 'test/support/wechat-signer';
import { RECORDED_REPLIES } from 'test/support/recorded-replies';
import { CLAIM_LEASE_MS } from 'src/webhook/inbound-message.repository';
import { REPLY_DEADLINE_MS } from 'src/webhook/webhook.service';

const TOKEN = 'reliabilityToken';
const WELCOME = '感谢关注！';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Posts an already signed request once, as one of WeChat's tries. */
async function postSigned(url: string, signed: { query: Record<string, string>; body: string }, timeoutMs = 5000) {
  const target = new URL(`${url}/wechat/webhook`);
  for (const [key, value] of Object.entries(signed.query)) {
    target.searchParams.set(key, value);
  }
  return fetch(target, {
    method: 'POST',
    headers: { 'content-type': 'text/xml' },
    body: signed.body,
    signal: AbortSignal.timeout(timeoutMs),
  });
}

async function waitFor<T>(probe: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > until) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await sleep(50);
  }
}

const killed = (service: ServiceProcess) => {
  if (service.child.exitCode === null && service.child.signalCode === null) {
    service.child.kill('SIGKILL');
  }
  return service.exited;
};

describe('Reliability (e2e)', () => {
  let fake: FakeWeChat;

  beforeAll(async () => {
    buildService();
    fake = new FakeWeChat();
    await fake.start();
  });

  afterAll(async () => {
    await fake.stop();
  });

  it('should hold a claim no longer than the delivery that made it may take to answer', () => {
    expect(CLAIM_LEASE_MS).toBe(REPLY_DEADLINE_MS);
  });

  describe('a claim whose delivery died', () => {
    let db: TestDatabase;
    let pool: Pool;
    const services: ServiceProcess[] = [];

    beforeAll(async () => {
      db = await createTestDatabase();
      pool = new Pool({ connectionString: db.url, max: 2 });
      // An idle connection ended from outside (the database dropped WITH (FORCE) at the end) is not this test's error.
      pool.on('error', () => undefined);
    });

    afterAll(async () => {
      await Promise.all(services.map(killed));
      await pool.end();
      await db.drop();
    });

    const start = async (extra: Record<string, string> = {}) => {
      const service = await startServiceProcess(
        {
          ...wiredEnv(fake, db.url),
          WECHAT_OA_TOKEN: TOKEN,
          NODE_ENV: 'test',
          WEBHOOK_SPOOL_DIR: mkdtempSync(join(tmpdir(), 'spool-')),
          ...extra,
        },
        await freePort(),
      );
      services.push(service);
      return service;
    };

    it('should be taken over by a retry on another instance, which runs the step and records the follower', async () => {
      const held = await start({ WEBHOOK_TEST_HOLD_AFTER_CLAIM_MS: '60000' });
      const other = await start();
      const signed = new WeChatSigner({ token: TOKEN }).sign(
        wechatMessages.event('subscribe', {}, { from: 'o-lease-fan', to: 'gh_lease' }),
      );
      const first = postSigned(held.url, signed, 10_000).then(
        () => 'answered',
        () => 'no answer',
      );
      const claimed = await waitFor(
        async () =>
          (
            await pool.query<{ reply: string | null; lease_until: Date | null }>(
              `SELECT reply, lease_until FROM ${RECORDED_REPLIES} WHERE to_user_name = 'gh_lease'`,
            )
          ).rows[0],
        4000,
        'the claim',
      );
      expect(claimed.reply).toBeNull();
      expect(claimed.lease_until).not.toBeNull();
      await killed(held);
      expect(await first).toBe('no answer');
      const stuck = await pool.query(`SELECT 1 FROM wechat_identities WHERE openid = 'o-lease-fan'`);
      expect(stuck.rows).toHaveLength(0);

      // WeChat's retry comes 5 s after the first try: by then the lease has run out.
      await waitFor(
        async () =>
          (
            await pool.query(
              `SELECT 1 FROM wechat_inbound_messages WHERE to_user_name = 'gh_lease' AND lease_until < now()`,
            )
          ).rows[0],
        CLAIM_LEASE_MS + 2000,
        'the lease to run out',
      );
      const retry = await postSigned(other.url, signed);
      expect(retry.status).toBe(200);
      const reply = await retry.text();
      expect(reply).toContain(WELCOME);
      const identity = await pool.query(
        `SELECT subscribed FROM wechat_identities WHERE appid = $1 AND openid = 'o-lease-fan'`,
        [OA_APP.appid],
      );
      expect(identity.rows).toEqual([{ subscribed: true }]);
      const rows = await pool.query(`SELECT reply FROM ${RECORDED_REPLIES} WHERE to_user_name = 'gh_lease'`);
      expect(rows.rows).toEqual([{ reply }]);
      // A later retry gets the same reply from the record.
      expect(await (await postSigned(other.url, signed)).text()).toBe(reply);
    });

    it('should let exactly one of many simultaneous retries take the claim over', async () => {
      const [a, b] =
        services.length >= 2 && services[1].child.exitCode === null
          ? [services[1], await start()]
          : [await start(), await start()];
      const signed = new WeChatSigner({ token: TOKEN }).sign(
        wechatMessages.event('unsubscribe', {}, { from: 'o-race-fan', to: 'gh_race' }),
      );
      await pool.query(
        `INSERT INTO wechat_inbound_messages
           (to_user_name, dedupe_key, from_user_name, msg_type, event, wechat_create_time, fields, lease_until)
         VALUES ('gh_race', $1, 'o-race-fan', 'event', 'unsubscribe', $2, '{}', now() - interval '1 second')`,
        [
          `event:o-race-fan:${/<CreateTime>(\d+)</.exec(signed.body)![1]}:unsubscribe`,
          /<CreateTime>(\d+)</.exec(signed.body)![1],
        ],
      );
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) => postSigned((i % 2 ? a : b).url, signed).then((res) => res.status)),
      );
      expect(answers).toEqual(Array(8).fill(200));
      const takeovers = () =>
        [a, b].flatMap((service) =>
          service
            .output()
            .split('\n')
            .filter((line) => line.includes('Took over') && line.includes('o-race-fan')),
        );
      // The log is written in blocks (at least every 200 ms): wait for the first line, then for any second one.
      await waitFor(
        () => Promise.resolve(takeovers().length > 0 ? true : undefined),
        3000,
        'the takeover to be logged',
      );
      await sleep(600);
      const taken = takeovers();
      expect(taken).toHaveLength(1);
      const rows = await pool.query(`SELECT reply FROM ${RECORDED_REPLIES} WHERE to_user_name = 'gh_race'`);
      expect(rows.rows).toEqual([{ reply: 'success' }]);
    });
  });

  describe('the database stopped under deliveries', () => {
    const FORWARD_SECRET = 'reliability-forward-secret';
    let cluster: OwnCluster;
    let pool: Pool;
    let services: ServiceProcess[];
    // The team's backend: it echoes texts (the sandbox's behaviour) and answers events with no reply.
    const backend = new TeamBackend(FORWARD_SECRET);

    beforeAll(async () => {
      cluster = await createOwnCluster('rel_e2e');
      pool = new Pool({ connectionString: cluster.url, max: 2 });
      pool.on('error', () => undefined);
      const forwardUrl = await backend.start();
      services = await Promise.all(
        [0, 1].map(async () =>
          startServiceProcess(
            {
              ...wiredEnv(fake, cluster.url),
              WECHAT_OA_TOKEN: TOKEN,
              WEBHOOK_SPOOL_DIR: mkdtempSync(join(tmpdir(), 'spool-')),
              LOG_LEVEL: 'info',
              WECHAT_OA_FORWARD_URL: forwardUrl,
              FORWARD_SECRET,
            },
            await freePort(),
          ),
        ),
      );
    });

    afterAll(async () => {
      await Promise.all((services ?? []).map(killed));
      await backend.stop();
      await pool?.end();
      cluster?.drop();
    });

    it('should answer every delivery during a 12-second outage, and record and forward each once after the database returns', async () => {
      const signer = { token: TOKEN };
      const followers = ['o-out-1', 'o-out-2', 'o-out-3'];
      const sent: { key: string; result: SendResult; at: number }[] = [];
      let n = 0;
      const deliver = async (xml: string, key: string) => {
        const target = services[n++ % services.length];
        const at = Date.now();
        const result = await sendToWebhook({ ...signer, url: `${target.url}/wechat/webhook` }, xml);
        sent.push({ key, result, at });
      };
      const adminToken = async (service: ServiceProcess) => {
        const res = await fetch(`${service.url}/admin/token?appid=${OA_APP.appid}`, {
          headers: { 'x-admin-key': ADMIN_KEY },
        });
        return { status: res.status, body: (await res.json()) as { accessToken?: string; error?: string } };
      };
      const tokens = await Promise.all(services.map(adminToken));
      expect(tokens.map((t) => t.status)).toEqual([200, 200]);
      await deliver(wechatMessages.text('before', { from: 'o-out-1', to: 'gh_out', msgId: '9000' }), 'msg:9000');

      cluster.stop();
      const outageStarted = Date.now();
      let createTime = Math.floor(Date.now() / 1000);
      // During the outage: texts, and subscribe/unsubscribe events per follower, one after another.
      const during: Promise<void>[] = [];
      for (let i = 0; Date.now() - outageStarted < 12_000; i += 1) {
        const msgId = String(10_000 + i);
        during.push(
          deliver(wechatMessages.text(`during ${i}`, { from: 'o-out-2', to: 'gh_out', msgId }), `msg:${msgId}`),
        );
        const follower = followers[i % followers.length];
        createTime += 1;
        const event = i % 2 === 0 ? 'subscribe' : 'unsubscribe';
        await deliver(
          wechatMessages.event(event, {}, { from: follower, to: 'gh_out', createTime }),
          `event:${follower}:${createTime}:${event}`,
        );
        await sleep(200);
      }
      await Promise.all(during);
      const outage = await Promise.all(services.map(adminToken));
      const login = await fetch(`${services[0].url}/miniprogram/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code: prepareLoginCode(fake, { openid: 'o-out-login' }) }),
      });
      cluster.start();
      const returned = Date.now();

      // Every try answered 200 at once; none needed WeChat's retry.
      expect(sent.every(({ result }) => result.status === 200 && result.attempts.length === 1)).toBe(true);
      expect(Math.max(...sent.map(({ result }) => result.attempts[0].ms))).toBeLessThan(2000);
      // Logins fail cleanly; the token store keeps serving the cached token.
      expect(login.status).toBe(503);
      expect(((await login.json()) as { error: string }).error).toBe('database_unavailable');
      expect(outage.map((t) => [t.status, t.body.accessToken])).toEqual(tokens.map((t) => [200, t.body.accessToken]));

      const expected = new Set(sent.map(({ key }) => key));
      const recorded = await waitFor(
        async () => {
          try {
            const rows = (
              await pool.query<{ dedupe_key: string; reply: string | null }>(
                `SELECT dedupe_key, reply FROM ${RECORDED_REPLIES} WHERE to_user_name = 'gh_out'`,
              )
            ).rows;
            return rows.length >= expected.size && rows.every((row) => row.reply !== null) ? rows : undefined;
          } catch {
            return undefined;
          }
        },
        20_000,
        'the spool to be replayed',
      );
      const replayedIn = Date.now() - returned;
      expect(recorded.map((row) => row.dedupe_key).sort()).toEqual([...expected].sort());
      for (const follower of followers) {
        const last = [...sent].reverse().find(({ key }) => key.startsWith(`event:${follower}:`))!;
        const identity = await pool.query(`SELECT subscribed FROM wechat_identities WHERE appid = $1 AND openid = $2`, [
          OA_APP.appid,
          follower,
        ]);
        expect(identity.rows).toEqual([{ subscribed: last.key.endsWith(':subscribe') }]);
      }

      // Each message is forwarded once, the spooled ones by the replay; a text's reply, late by then, goes out as a
      // customer-service message.
      const forwarded = await waitFor(
        () =>
          Promise.resolve(
            backend.received.length >= expected.size
              ? backend.received.map(({ body }) => forwardedKey(body))
              : undefined,
          ),
        10_000,
        'every message to be forwarded',
      );
      expect(forwarded.sort()).toEqual([...expected].sort());
      expect(backend.received.every((forward) => forward.signatureValid)).toBe(true);
      const texts = sent.filter(({ key }) => key.startsWith('msg:1')).map((_, i) => `后端收到：during ${i}`);
      const contentsTo = (openid: string) =>
        sentMessages(fake, openid).map((message) => (message.body.text as { content: string } | undefined)?.content);
      const lateReplies = await waitFor(
        () => {
          const contents = contentsTo('o-out-2').filter((content) => content?.startsWith('后端收到：'));
          return Promise.resolve(contents.length >= texts.length ? contents : undefined);
        },
        15_000,
        "the backend's replies as customer-service messages",
      );
      expect(lateReplies.sort()).toEqual(texts.sort());
      // The other steps' replies are late as well: each spooled subscribe's welcome text, once, the same way.
      const subscribes = followers.map(
        (follower) =>
          sent.filter(({ key }) => key.startsWith(`event:${follower}:`) && key.endsWith(':subscribe')).length,
      );
      const welcomed = () => followers.map((follower) => contentsTo(follower).filter((c) => c === WELCOME).length);
      await waitFor(
        () => Promise.resolve(welcomed().reduce((a, b) => a + b) >= subscribes.reduce((a, b) => a + b) || undefined),
        15_000,
        'the welcome texts as customer-service messages',
      );
      expect(welcomed()).toEqual(subscribes);
      console.log(
        `outage 12 s: ${sent.length - 1} deliveries answered in ≤ ${Math.max(...sent.map(({ result }) => result.attempts[0].ms))} ms, ` +
          `all recorded once ${replayedIn} ms after the database returned, each forwarded once`,
      );
    });
  });
});
