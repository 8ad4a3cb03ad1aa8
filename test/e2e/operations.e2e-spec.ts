import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { ConfigService } from '@nestjs/config';
import { Client } from 'pg';
import request from 'supertest';
import { resealAll, SEALED_TABLES } from 'src/common/sealing/reseal';
import { SecretSealer, sha256Hex } from 'src/common/sealing/secret-sealer';
import type { Configuration } from 'src/config/configuration';
import { RetentionService } from 'src/retention/retention.service';
import { prepareLoginCode } from 'test/fake-wechat/routes/mini-program.routes';
import { ADMIN_KEY, Harness, OA_APP, startHarness, TEST_DATA_KEY } from 'test/support/create-test-app';
import { WeChatSigner, wechatMessages } from 'test/support/wechat-signer';

const TOKEN = 'opsToken42';
const METRICS_TOKEN = 'metrics-token-0123456789';
const sealerWith = (key: string, previous?: string) =>
  new SecretSealer({
    get: () => ({
      dataEncryptionKey: Buffer.from(key, 'base64'),
      dataEncryptionKeyPrevious: previous ? Buffer.from(previous, 'base64') : undefined,
    }),
  } as unknown as ConfigService<Configuration, true>);

describe('Operations (e2e): metrics, rate limits, retention, key rotation', () => {
  let h: Harness;
  const signer = new WeChatSigner({ token: TOKEN });

  beforeAll(async () => {
    h = await startHarness({ WECHAT_OA_TOKEN: TOKEN });
  });

  afterAll(async () => {
    await h.close();
  });

  const deliver = (app: NestFastifyApplication, xml: string) => {
    const signed = signer.sign(xml);
    return request(app.getHttpServer())
      .post('/wechat/webhook')
      .query(signed.query)
      .set('Content-Type', 'text/xml')
      .send(signed.body);
  };

  describe('GET /metrics', () => {
    let app: NestFastifyApplication;

    beforeAll(async () => {
      app = await h.startInstance({ METRICS_TOKEN });
    });

    afterAll(async () => {
      await app.close();
    });

    const scrape = () =>
      request(app.getHttpServer()).get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`).expect(200);

    it('should answer 401 without the bearer token, or with another', async () => {
      const bare = await request(app.getHttpServer()).get('/metrics').expect(401);
      expect(bare.body).toEqual({ statusCode: 401, error: 'unauthorized', message: expect.any(String) });
      await request(app.getHttpServer()).get('/metrics').set('Authorization', 'Bearer nope').expect(401);
    });

    it('should count lane and framework routes by pattern, and unmatched paths without their path', async () => {
      await deliver(app, wechatMessages.text('hello metrics')).expect(200);
      await request(app.getHttpServer()).get('/health').expect(200);
      await request(app.getHttpServer()).get('/admin/auto-replies/0f0e4f38-1111-4c1b-9d5e-000000000001').expect(401);
      await request(app.getHttpServer()).get('/no/such/o-secret-openid').expect(404);
      const res = await scrape();
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      const text = res.text;
      expect(text).toMatch(/process_cpu_user_seconds_total \d/);
      expect(text).toMatch(/http_requests_total\{route="\/wechat\/webhook",method="POST",status="200"\} 1/);
      expect(text).toMatch(/http_requests_total\{route="\/health",method="GET",status="200"\} \d/);
      expect(text).toMatch(/http_requests_total\{route="\/admin\/auto-replies\/:id",method="GET",status="401"\} 1/);
      expect(text).toMatch(/http_requests_total\{route="unmatched",method="GET",status="404"\} 1/);
      expect(text).toMatch(/http_request_duration_seconds_bucket\{le="0.1",route="\/wechat\/webhook",method="POST"\}/);
      expect(text).not.toContain('o-secret-openid');
      expect(text).not.toContain('0f0e4f38');
      expect(text).toMatch(/db_pool_connections \d/);
    });

    it('should count WeChat calls by endpoint and errcode, and token fetches by appid and reason', async () => {
      await request(app.getHttpServer())
        .post('/miniprogram/login')
        .send({ code: prepareLoginCode(h.fake, { openid: 'o-metrics' }) })
        .expect(200);
      h.fake.inject('/sns/jscode2session', { errcode: 40163, errmsg: 'code been used' });
      await request(app.getHttpServer()).post('/miniprogram/login').send({ code: 'used-code' }).expect(401);
      await request(app.getHttpServer())
        .get('/admin/token')
        .query({ appid: OA_APP.appid })
        .set('X-Admin-Key', ADMIN_KEY)
        .expect(200);
      const text = (await scrape()).text;
      expect(text).toMatch(/wechat_api_calls_total\{endpoint="\/sns\/jscode2session",errcode="0"\} 1/);
      expect(text).toMatch(/wechat_api_calls_total\{endpoint="\/sns\/jscode2session",errcode="40163"\} 1/);
      expect(text).toMatch(/wechat_api_call_duration_seconds_count\{endpoint="\/sns\/jscode2session"\} 2/);
      expect(text).toMatch(
        new RegExp(
          `wechat_token_fetches_total\\{appid="${OA_APP.appid}",kind="access_token",reason="expired",outcome="ok"\\} 1`,
        ),
      );
    });

    it('should be open without METRICS_TOKEN, and off with METRICS_ENABLED=false', async () => {
      const open = await h.startInstance();
      const off = await h.startInstance({ METRICS_ENABLED: 'false' });
      try {
        await request(open.getHttpServer()).get('/metrics').expect(200);
        await request(off.getHttpServer()).get('/metrics').expect(404);
      } finally {
        await Promise.all([open.close(), off.close()]);
      }
    });
  });

  describe('rate limits', () => {
    let app: NestFastifyApplication;

    beforeAll(async () => {
      app = await h.startInstance({ RATE_LIMIT_PER_MINUTE: '3' });
    });

    afterAll(async () => {
      await app.close();
    });

    const login = (forwardedFor?: string) => {
      const req = request(app.getHttpServer()).post('/miniprogram/login');
      return (forwardedFor ? req.set('X-Forwarded-For', forwardedFor) : req).send({ code: 'rate-limited' });
    };

    it('should refuse the 4th request of a minute with 429, Retry-After and the contract shape, per IP', async () => {
      for (let i = 0; i < 3; i += 1) {
        await login('203.0.113.7').expect(401);
      }
      const refused = await login('203.0.113.7').expect(429);
      expect(refused.body).toEqual({ statusCode: 429, error: 'too_many_requests', message: expect.any(String) });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
      // Behind the trusted (loopback) proxy, another client has its own budget.
      await login('203.0.113.8').expect(401);
    });

    it('should count each route on its own: /oauth/authorize is limited apart from the login', async () => {
      for (let i = 0; i < 3; i += 1) {
        await request(app.getHttpServer()).get('/oauth/authorize').set('X-Forwarded-For', '198.51.100.1').expect(302);
      }
      await request(app.getHttpServer()).get('/oauth/authorize').set('X-Forwarded-For', '198.51.100.1').expect(429);
    });

    it('should never limit the webhook', async () => {
      for (let i = 0; i < 8; i += 1) {
        await deliver(app, wechatMessages.text(`burst ${i}`)).expect(200);
      }
    });

    it('should leave unlimited routes alone', async () => {
      for (let i = 0; i < 6; i += 1) {
        await request(app.getHttpServer()).get('/health').expect(200);
      }
    });
  });

  describe('retention', () => {
    it('should delete old webhook messages and their replies, expired sessions, states and QR attempts, sent messages and forwards in batches, and keep recent and unfinished ones', async () => {
      const app = await h.startInstance({ WEBHOOK_RETENTION_DAYS: '7' });
      try {
        await h.query('DELETE FROM wechat_inbound_messages');
        // More than one batch (10,000 rows a statement) of old messages, and recent ones on both sides of the line.
        await h.query(
          `INSERT INTO wechat_inbound_messages
             (to_user_name, dedupe_key, from_user_name, msg_type, wechat_create_time, fields, received_at)
           SELECT 'gh_old', 'msg:' || i, 'o', 'text', 0, '{}', now() - interval '8 days' - i * interval '1 second'
             FROM generate_series(1, 12500) AS i`,
        );
        await h.query(
          `INSERT INTO wechat_inbound_messages
             (to_user_name, dedupe_key, from_user_name, msg_type, wechat_create_time, fields, received_at)
           VALUES ('gh_new', 'msg:1', 'o', 'text', 0, '{}', now() - interval '6 days'),
                  ('gh_new', 'msg:2', 'o', 'text', 0, '{}', now())`,
        );
        // Replies settled for claimed messages go with their messages.
        await h.query('DELETE FROM wechat_inbound_replies');
        await h.query(
          `INSERT INTO wechat_inbound_replies (to_user_name, dedupe_key, reply, replied_at)
           SELECT 'gh_old', 'msg:' || i, 'success', now() - interval '8 days' - i * interval '1 second'
             FROM generate_series(1, 40) AS i
           UNION ALL SELECT 'gh_new', 'msg:1', 'success', now() - interval '6 days'`,
        );
        const [user] = await h.query<{ id: string }>('INSERT INTO users DEFAULT VALUES RETURNING id');
        await h.query(
          `INSERT INTO sessions (user_id, token_hash, expires_at)
           VALUES ($1, 'expired-1', now() - interval '1 minute'), ($1, 'live-1', now() + interval '1 day')`,
          [user.id],
        );
        await h.query(
          `INSERT INTO oauth_states (state_hash, browser_hash, scope, return_to, expires_at)
           VALUES ('old-state', 'b', 'snsapi_base', '/', now() - interval '1 minute'),
                  ('live-state', 'b', 'snsapi_base', '/', now() + interval '5 minutes')`,
        );
        await h.query(
          `INSERT INTO qr_login_attempts (appid, scene, browser_hash, return_to, expires_at)
           VALUES ('wx1', 'login_old', 'b', '/', now() - interval '2 hours'),
                  ('wx1', 'login_recent', 'b', '/', now() - interval '10 minutes')`,
        );
        await h.query(
          `INSERT INTO wechat_outbound_messages (id, kind, appid, touser, payload, status, created_at)
           VALUES (gen_random_uuid(), 'custom', 'wx1', 'o-sent-old', '{}', 'sent', now() - interval '31 days'),
                  (gen_random_uuid(), 'custom', 'wx1', 'o-queued-old', '{}', 'queued', now() - interval '31 days'),
                  (gen_random_uuid(), 'custom', 'wx1', 'o-sent-new', '{}', 'sent', now() - interval '29 days')`,
        );
        await h.query(
          `INSERT INTO wechat_forwards (id, appid, to_user_name, dedupe_key, openid, url, body, reply_wanted, status,
             created_at)
           VALUES (gen_random_uuid(), 'wx1', 'gh_f', 'msg:old', 'o', 'http://127.0.0.1:9/', '{}', false, 'delivered',
                   now() - interval '31 days'),
                  (gen_random_uuid(), 'wx1', 'gh_f', 'msg:retrying', 'o', 'http://127.0.0.1:9/', '{}', false, 'pending',
                   now() - interval '31 days')`,
        );
        const deleted = await app.get(RetentionService).runOnce();
        expect(deleted).toMatchObject({
          'webhook messages': 12500,
          'webhook replies': 40,
          'expired sessions': 1,
          'expired OAuth states': 1,
          'expired QR-login attempts': 1,
          'sent messages': 1,
          'finished forwards': 1,
        });
        expect(await h.query(`SELECT scene FROM qr_login_attempts WHERE appid = 'wx1'`)).toEqual([
          { scene: 'login_recent' },
        ]);
        expect(
          await h.query(`SELECT touser FROM wechat_outbound_messages WHERE appid = 'wx1' ORDER BY touser`),
        ).toEqual([{ touser: 'o-queued-old' }, { touser: 'o-sent-new' }]);
        expect(await h.query(`SELECT dedupe_key FROM wechat_forwards WHERE appid = 'wx1'`)).toEqual([
          { dedupe_key: 'msg:retrying' },
        ]);
        const kept = await h.query<{ to_user_name: string }>(
          'SELECT to_user_name FROM wechat_inbound_messages ORDER BY dedupe_key',
        );
        expect(kept.map((row) => row.to_user_name)).toEqual(['gh_new', 'gh_new']);
        expect(await h.query('SELECT to_user_name, dedupe_key FROM wechat_inbound_replies')).toEqual([
          { to_user_name: 'gh_new', dedupe_key: 'msg:1' },
        ]);
        expect(await h.query(`SELECT token_hash FROM sessions WHERE user_id = $1`, [user.id])).toEqual([
          { token_hash: 'live-1' },
        ]);
        expect(
          await h.query(`SELECT state_hash FROM oauth_states WHERE state_hash IN ('old-state', 'live-state')`),
        ).toEqual([{ state_hash: 'live-state' }]);
      } finally {
        await app.close();
      }
    });

    it('should delete follower activity past FOLLOWER_ACTIVITY_RETENTION_DAYS (default 7) and keep the 48-hour window answering', async () => {
      const activity = (hoursAgo: Record<string, number>) =>
        h.query(
          `INSERT INTO wechat_follower_activity (appid, openid, last_at)
           SELECT $1, openid, now() - hours::int * interval '1 hour'
             FROM jsonb_each_text($2::jsonb) AS t(openid, hours)`,
          [OA_APP.appid, JSON.stringify(hoursAgo)],
        );
      const kept = async (prefix: string) =>
        (
          await h.query<{ openid: string }>(
            'SELECT openid FROM wechat_follower_activity WHERE openid LIKE $1 ORDER BY openid',
            [`${prefix}%`],
          )
        ).map((row) => row.openid);

      const byDefault = await h.startInstance();
      try {
        await activity({ 'o-week-8d': 8 * 24, 'o-week-6d': 6 * 24, 'o-week-1h': 1 });
        const deleted = await byDefault.get(RetentionService).runOnce();
        expect(deleted).toMatchObject({ 'follower activity': 1 });
        expect(await kept('o-week-')).toEqual(['o-week-1h', 'o-week-6d']);
      } finally {
        await byDefault.close();
      }

      const shortest = await h.startInstance({ FOLLOWER_ACTIVITY_RETENTION_DAYS: '3' });
      try {
        await activity({ 'o-short-4d': 4 * 24, 'o-short-47h': 47 });
        expect(await shortest.get(RetentionService).runOnce()).toMatchObject({ 'follower activity': 2 });
        expect(await kept('o-short-')).toEqual(['o-short-47h']);
        expect(await kept('o-week-')).toEqual(['o-week-1h']);
        // The follower who wrote 47 hours ago can still get a customer-service message.
        const send = (touser: string) =>
          request(shortest.getHttpServer())
            .post('/admin/messages')
            .set('X-Admin-Key', ADMIN_KEY)
            .send({ kind: 'custom', touser, msgtype: 'text', text: { content: '还在吗' } });
        expect((await send('o-short-47h')).status).toBe(202);
        expect((await send('o-short-4d')).body).toMatchObject({ statusCode: 409, error: 'outside_window' });
      } finally {
        await shortest.close();
      }
    });

    it('should let one instance at a time run it: the other skips', async () => {
      const first = await h.startInstance();
      const second = await h.startInstance();
      try {
        await h.query(
          `INSERT INTO wechat_inbound_messages
             (to_user_name, dedupe_key, from_user_name, msg_type, wechat_create_time, fields, received_at)
           SELECT 'gh_race', 'msg:' || i, 'o', 'text', 0, '{}', now() - interval '40 days'
             FROM generate_series(1, 30000) AS i`,
        );
        const results = await Promise.all([
          first.get(RetentionService).runOnce(),
          second.get(RetentionService).runOnce(),
        ]);
        const ran = results.filter((result) => result !== undefined);
        expect(ran).toHaveLength(1);
        expect(ran[0]).toMatchObject({ 'webhook messages': 30000 });
      } finally {
        await Promise.all([first.close(), second.close()]);
      }
    });

    it('should find what may go through an index, not by reading the table', async () => {
      const client = new Client({ connectionString: h.db.url });
      await client.connect();
      try {
        // The test table is small enough that a scan would win; the point is that the index serves the condition.
        await client.query('SET enable_seqscan = off');
        const plan = async (statement: string) =>
          (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${statement}`)).rows
            .map((row) => row['QUERY PLAN'])
            .join('\n');
        expect(
          await plan(`SELECT ctid FROM wechat_inbound_messages
                       WHERE received_at < now() - make_interval(days => 30) LIMIT 10000`),
        ).toMatch(/Index.* on wechat_inbound_messages|IDX_wechat_inbound_messages_received_at/);
        expect(
          await plan(`SELECT ctid FROM wechat_inbound_replies
                       WHERE replied_at < now() - make_interval(days => 30) LIMIT 10000`),
        ).toMatch(/IDX_wechat_inbound_replies_replied_at/);
        expect(
          await plan(`SELECT ctid FROM wechat_follower_activity
                       WHERE last_at < now() - make_interval(days => 7) LIMIT 10000`),
        ).toMatch(/IDX_wechat_follower_activity_last_at/);
      } finally {
        await client.end();
      }
    });
  });

  describe('key rotation', () => {
    const OLD_KEY = TEST_DATA_KEY;
    const NEW_KEY = Buffer.alloc(32, 42).toString('base64');
    const NEXT_ADMIN_KEY = 'next-admin-key-0123456789';

    it('should open values sealed with DATA_ENCRYPTION_KEY_PREVIOUS, and accept either admin key', async () => {
      const app = await h.startInstance({
        DATA_ENCRYPTION_KEY: NEW_KEY,
        DATA_ENCRYPTION_KEY_PREVIOUS: OLD_KEY,
        ADMIN_API_KEY: `${ADMIN_KEY},${NEXT_ADMIN_KEY}`,
      });
      try {
        await h.query('DELETE FROM access_tokens');
        const stored = 'token-sealed-with-the-old-key';
        await h.query(
          `INSERT INTO access_tokens (appid, access_token_sealed, token_hash, expires_at, refresh_at)
           VALUES ($1, $2, $3, now() + interval '1 hour', now() + interval '55 minutes')`,
          [OA_APP.appid, sealerWith(OLD_KEY).seal(stored), sha256Hex(stored)],
        );
        h.fake.resetCalls();
        for (const key of [ADMIN_KEY, NEXT_ADMIN_KEY]) {
          const res = await request(app.getHttpServer())
            .get('/admin/token')
            .query({ appid: OA_APP.appid })
            .set('X-Admin-Key', key)
            .expect(200);
          expect(res.body.accessToken).toBe(stored);
        }
        expect(h.fake.callCount('/cgi-bin/stable_token')).toBe(0);
        await request(app.getHttpServer())
          .get('/admin/token')
          .query({ appid: OA_APP.appid })
          .set('X-Admin-Key', 'another-key-0123456789')
          .expect(401);
      } finally {
        await app.close();
      }
    });

    it('should re-seal every sealed column with the new key (npm run reseal), in batches, once', async () => {
      const old = sealerWith(OLD_KEY);
      const [user] = await h.query<{ id: string }>('INSERT INTO users DEFAULT VALUES RETURNING id');
      await h.query(
        `INSERT INTO wechat_identities (user_id, appid, openid, source, session_key_sealed, refresh_token_sealed)
         SELECT $1, 'wxreseal', 'o-' || i, 'mini_program', $2, $3 FROM generate_series(1, 1200) AS i`,
        [user.id, old.seal('session-key'), old.seal('refresh-token')],
      );
      const rotated = sealerWith(NEW_KEY, OLD_KEY);
      const report = await resealAll(h.query, rotated);
      expect(report.resealed['wechat_identities.session_key_sealed']).toBeGreaterThanOrEqual(1200);
      expect(report.unreadable['wechat_identities.session_key_sealed']).toBe(0);
      const onlyNew = sealerWith(NEW_KEY);
      const rows = await h.query<{ session_key_sealed: string; refresh_token_sealed: string }>(
        `SELECT session_key_sealed, refresh_token_sealed FROM wechat_identities WHERE appid = 'wxreseal'`,
      );
      expect(rows).toHaveLength(1200);
      for (const row of rows) {
        expect(onlyNew.open(row.session_key_sealed)).toBe('session-key');
        expect(onlyNew.open(row.refresh_token_sealed)).toBe('refresh-token');
      }
      const again = await resealAll(h.query, rotated);
      expect(Object.values(again.resealed).every((count) => count === 0)).toBe(true);
    });

    it('should know every sealed column of the schema', async () => {
      const columns = await h.query<{ name: string }>(
        `SELECT table_name || '.' || column_name AS name FROM information_schema.columns
          WHERE table_schema = 'public' AND column_name LIKE '%\\_sealed' ORDER BY 1`,
      );
      const known = SEALED_TABLES.flatMap(({ table, columns }) => columns.map((column) => `${table}.${column}`));
      expect(columns.map((row) => row.name)).toEqual([...known].sort());
    });
  });
});
