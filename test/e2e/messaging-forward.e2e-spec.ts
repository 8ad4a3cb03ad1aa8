import request from 'supertest';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ADMIN_KEY, Harness, OA_APP, startHarness } from 'test/support/create-test-app';
import { eventually } from 'test/support/eventually';
import { nextMsgId, WeChatSigner, wechatMessages } from 'test/support/wechat-signer';
import { sentMessages } from 'test/fake-wechat/routes/message.routes';
import { TeamBackend } from 'test/fake-wechat/team-backend';
import { parseXml, textOf } from 'src/wechat/xml/xml.codec';

const TOKEN = 'forwardTestToken42';
const SECRET = 'forward-secret-0123456789';
const WAIT_MS = 800;

describe('Forwarding to the team backend (e2e)', () => {
  let h: Harness;
  let backend: TeamBackend;
  let second: NestFastifyApplication;
  let users = 0;
  const signer = new WeChatSigner({ token: TOKEN, appId: OA_APP.appid });

  beforeAll(async () => {
    backend = new TeamBackend(SECRET);
    await backend.start();
    h = await startHarness({
      WECHAT_OA_TOKEN: TOKEN,
      WECHAT_OA_FORWARD_URL: backend.url,
      FORWARD_SECRET: SECRET,
      FORWARD_REPLY_WAIT_MS: String(WAIT_MS),
    });
    second = await h.startInstance();
  });

  afterAll(async () => {
    await h.close();
    await backend.stop();
  });

  beforeEach(() => {
    backend.behaviour = () => ({ status: 200, body: {} });
  });

  const openid = () => {
    users += 1;
    return `o-fwd-${users}-${Date.now()}`;
  };
  const deliver = (signed: { query: Record<string, string>; body: string }, app: NestFastifyApplication = h.app) =>
    request(app.getHttpServer())
      .post('/wechat/webhook')
      .query(signed.query)
      .set('Content-Type', 'text/xml')
      .send(signed.body)
      .expect(200);
  const forwardsFrom = (from: string) => backend.received.filter((forward) => forward.body.openid === from);
  const replyText = (xml: string) => textOf(parseXml(xml), 'Content');
  const forwardRow = async (from: string) =>
    (
      await h.query<{ id: string; status: string; attempts: number; due_at: Date; reply_wanted: boolean }>(
        'SELECT id, status, attempts, due_at, reply_wanted FROM wechat_forwards WHERE openid = $1',
        [from],
      )
    )[0];

  it('should POST every recorded message as the contract JSON, signed over the raw body', async () => {
    const from = openid();
    const msgId = nextMsgId();
    const createTime = Math.floor(Date.now() / 1000);
    await deliver(signer.sign(wechatMessages.text('你好 backend', { from, msgId, createTime }), 'plain'));
    const [forward] = await eventually(() => forwardsFrom(from).length > 0 && forwardsFrom(from));
    expect(forward.signatureValid).toBe(true);
    expect(forward.signature).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(forward.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      appid: OA_APP.appid,
      openid: from,
      msgType: 'text',
      msgId,
      createTime,
      fields: { Content: '你好 backend' },
    });
    expect(Object.keys(forward.body)).toEqual(['id', 'appid', 'openid', 'msgType', 'msgId', 'createTime', 'fields']);
  });

  it('should forward events with their event and fields', async () => {
    const from = openid();
    await deliver(signer.sign(wechatMessages.event('CLICK', { EventKey: 'MENU_A' }, { from }), 'plain'));
    const [forward] = await eventually(() => forwardsFrom(from).length > 0 && forwardsFrom(from));
    expect(forward.body).toMatchObject({ msgType: 'event', event: 'CLICK', fields: { EventKey: 'MENU_A' } });
    expect(forward.body).not.toHaveProperty('msgId');
  });

  it('should make a quick reply of the backend the passive reply', async () => {
    const from = openid();
    backend.behaviour = (forward) => ({
      body: { reply: { type: 'text', content: `echo ${(forward.fields as { Content: string }).Content}` } },
    });
    const res = await deliver(signer.sign(wechatMessages.text('快', { from }), 'plain'));
    expect(res.headers['content-type']).toMatch(/^application\/xml/);
    expect(replyText(res.text)).toBe('echo 快');
  });

  it('should send a late reply as a customer-service message, after answering success', async () => {
    const from = openid();
    backend.behaviour = () => ({ body: { reply: { type: 'text', content: '久等了' } }, delayMs: WAIT_MS + 2_000 });
    const started = Date.now();
    const res = await deliver(signer.sign(wechatMessages.text('慢', { from }), 'plain'));
    expect(res.text).toBe('success');
    // Answered at the wait, well before the backend's reply (a second of slack for a busy machine).
    expect(Date.now() - started).toBeLessThan(WAIT_MS + 1_000);
    const [message] = await eventually(() => sentMessages(h.fake, from).length > 0 && sentMessages(h.fake, from));
    expect(message.body).toEqual({ touser: from, msgtype: 'text', text: { content: '久等了' } });
    const listed = await eventually(async () => {
      const res = await request(h.app.getHttpServer()).get('/admin/messages').set('X-Admin-Key', ADMIN_KEY).expect(200);
      const mine = res.body.messages.find((m: { touser: string }) => m.touser === from);
      return mine?.status === 'sent' ? mine : undefined;
    });
    expect(listed).toMatchObject({ kind: 'custom', origin: 'forward_reply' });
    // The try outlived its delivery, so it has a row; its 2xx is recorded there, and it is never tried again.
    expect((await forwardRow(from)).status).toBe('delivered');
    expect(forwardsFrom(from)).toHaveLength(1);
  });

  it('should answer by rule and ignore the backend reply, still forwarding the message', async () => {
    const from = openid();
    await request(h.app.getHttpServer())
      .post('/admin/auto-replies')
      .set('X-Admin-Key', ADMIN_KEY)
      .send({ match: 'exact', keyword: '规则', reply: { type: 'text', content: '规则回答' } })
      .expect(201);
    backend.behaviour = () => ({ body: { reply: { type: 'text', content: '后端回答' } } });
    const res = await deliver(signer.sign(wechatMessages.text('规则', { from }), 'plain'));
    expect(replyText(res.text)).toBe('规则回答');
    await eventually(() => forwardsFrom(from).length === 1);
    expect((await eventually(() => forwardRow(from))).reply_wanted).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(sentMessages(h.fake, from)).toHaveLength(0);
  });

  it('should greet a new follower with the welcome text and still forward the subscribe', async () => {
    const from = openid();
    backend.behaviour = () => ({ body: { reply: { type: 'text', content: '后端欢迎' } } });
    const res = await deliver(signer.sign(wechatMessages.event('subscribe', {}, { from }), 'plain'));
    expect(replyText(res.text)).toBe('感谢关注！');
    await eventually(() => forwardsFrom(from).length === 1);
    expect(forwardsFrom(from)[0].body).toMatchObject({ event: 'subscribe' });
  });

  it("should forward WeChat's retries once, on one instance or two", async () => {
    const from = openid();
    backend.behaviour = () => ({ body: { reply: { type: 'text', content: '一次' } }, delayMs: 150 });
    const signed = signer.sign(wechatMessages.text('重试', { from }), 'plain');
    const answers = await Promise.all([
      deliver(signed),
      deliver(signed, second),
      deliver(signed),
      deliver(signed, second),
    ]);
    for (const answer of answers) {
      expect(replyText(answer.text)).toBe('一次');
    }
    await deliver(signed, second);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(forwardsFrom(from)).toHaveLength(1);
  });

  /** The record a delivery leaves when it claimed the message and died before settling its reply (lease run out). */
  const diedAfterClaim = (to: string, from: string, msgId: string, createTime: number) =>
    h.query(
      `INSERT INTO wechat_inbound_messages
         (to_user_name, dedupe_key, from_user_name, msg_type, msg_id, wechat_create_time, fields, lease_until)
       VALUES ($1, $2, $3, 'text', $4, $5, '{}', now() - interval '1 second')`,
      [to, `msg:${msgId}`, from, msgId, createTime],
    );

  it('should forward a message whose delivery died before forwarding, when a retry takes it over', async () => {
    const from = openid();
    const msgId = nextMsgId();
    const createTime = Math.floor(Date.now() / 1000);
    backend.behaviour = () => ({ body: { reply: { type: 'text', content: '接手了' } } });
    const signed = signer.sign(wechatMessages.text('接手', { from, msgId, createTime, to: 'gh_fwd_retake' }), 'plain');
    await diedAfterClaim('gh_fwd_retake', from, msgId, createTime);
    const taken = await deliver(signed, second);
    expect(replyText(taken.text)).toBe('接手了');
    expect(forwardsFrom(from)).toHaveLength(1);
    expect(await deliver(signed)).toHaveProperty('text', taken.text);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(forwardsFrom(from)).toHaveLength(1);
  });

  it('should forward again, with the same id, when a delivery died between the 2xx and recording its reply', async () => {
    const from = openid();
    const msgId = nextMsgId();
    backend.behaviour = (forward) => ({ body: { reply: { type: 'text', content: `收到 ${forward.id}` } } });
    const signed = signer.sign(wechatMessages.text('两次', { from, msgId, to: 'gh_fwd_window' }), 'plain');
    const first = await deliver(signed);
    const [{ id }] = forwardsFrom(from).map((forward) => forward.body as { id: string });
    expect(replyText(first.text)).toBe(`收到 ${id}`);
    // What a delivery that died after the backend's 2xx, before its reply was recorded, leaves behind.
    await h.query(
      `UPDATE wechat_inbound_messages SET lease_until = now() - interval '1 second'
        WHERE to_user_name = 'gh_fwd_window' AND dedupe_key = $1`,
      [`msg:${msgId}`],
    );
    await h.query(`DELETE FROM wechat_inbound_replies WHERE to_user_name = 'gh_fwd_window' AND dedupe_key = $1`, [
      `msg:${msgId}`,
    ]);
    const taken = await deliver(signed, second);
    expect(replyText(taken.text)).toBe(`收到 ${id}`);
    expect(forwardsFrom(from).map((forward) => forward.body.id)).toEqual([id, id]);
  });

  it("should leave a dead delivery's forward to its row when a retry takes the message over", async () => {
    const from = openid();
    const msgId = nextMsgId();
    const createTime = Math.floor(Date.now() / 1000);
    backend.behaviour = () => ({ body: { reply: { type: 'text', content: '迟到的回答' } } });
    const signed = signer.sign(wechatMessages.text('已记下', { from, msgId, createTime, to: 'gh_fwd_row' }), 'plain');
    await diedAfterClaim('gh_fwd_row', from, msgId, createTime);
    // Its try was still running when it died: the row it wrote is leased for a while yet.
    const [{ id }] = await h.query<{ id: string }>(
      `INSERT INTO wechat_forwards (id, appid, to_user_name, dedupe_key, openid, url, body, reply_wanted, status,
                                    attempts, due_at)
       VALUES (gen_random_uuid(), $1, 'gh_fwd_row', $2, $3, $4, $5, true, 'delivering', 1, now() + interval '1 hour')
       RETURNING id`,
      [
        OA_APP.appid,
        `msg:${msgId}`,
        from,
        backend.url,
        JSON.stringify({ openid: from, fields: { Content: '已记下' } }),
      ],
    );
    const res = await deliver(signed);
    expect(res.text).toBe('success');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(forwardsFrom(from)).toHaveLength(0);
    // The lease runs out (moved forward here): the row is tried, once, and its reply is late by now.
    await h.query(`UPDATE wechat_forwards SET due_at = now() WHERE id = $1`, [id]);
    await eventually(async () => (await forwardRow(from))?.status === 'delivered', 5_000);
    expect(forwardsFrom(from)).toHaveLength(1);
    const [message] = await eventually(() => sentMessages(h.fake, from).length > 0 && sentMessages(h.fake, from));
    expect(message.body).toEqual({ touser: from, msgtype: 'text', text: { content: '迟到的回答' } });
  });

  it('should retry a failing backend from PostgreSQL with backoff, until it answers 2xx, then never again', async () => {
    const from = openid();
    backend.behaviour = () => ({ status: 503 });
    const res = await deliver(signer.sign(wechatMessages.text('失败', { from }), 'plain'));
    expect(res.text).toBe('success');
    const first = await eventually(async () => {
      const row = await forwardRow(from);
      return row?.status === 'pending' ? row : undefined;
    });
    expect(first.attempts).toBe(1);
    const wait = new Date(first.due_at).getTime() - Date.now();
    expect(wait).toBeGreaterThan(5_000);
    expect(wait).toBeLessThan(60_000);
    // The retry's time comes (moved forward here); any instance takes it.
    await h.query(`UPDATE wechat_forwards SET due_at = now() WHERE id = $1`, [first.id]);
    await eventually(
      async () => (await forwardRow(from))?.attempts === 2 && (await forwardRow(from)).status === 'pending',
      5_000,
    );
    backend.behaviour = () => ({ body: { reply: { type: 'text', content: '终于' } } });
    await h.query(`UPDATE wechat_forwards SET due_at = now() WHERE id = $1`, [first.id]);
    await eventually(async () => (await forwardRow(from))?.status === 'delivered', 5_000);
    expect(forwardsFrom(from)).toHaveLength(3);
    expect(new Set(forwardsFrom(from).map((forward) => forward.raw)).size).toBe(1);
    // A reply to a retry is late by definition: a customer-service message.
    const [message] = await eventually(() => sentMessages(h.fake, from).length > 0 && sentMessages(h.fake, from));
    expect(message.body).toEqual({ touser: from, msgtype: 'text', text: { content: '终于' } });
    await h.query(`UPDATE wechat_forwards SET due_at = now() WHERE id = $1`, [first.id]);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(forwardsFrom(from)).toHaveLength(3);
  });

  it('should not forward for an account without a forwardUrl', async () => {
    const from = openid();
    const other = new WeChatSigner({ token: 'otherToken42', appId: 'wxfwdother0000001' });
    await request(h.app.getHttpServer())
      .post('/admin/accounts')
      .set('X-Admin-Key', ADMIN_KEY)
      .send({ kind: 'official_account', appid: 'wxfwdother0000001', secret: 's', token: 'otherToken42' })
      .expect(201);
    const signed = other.sign(wechatMessages.text('别转发', { from }), 'plain');
    await request(h.app.getHttpServer())
      .post('/wechat/webhook/wxfwdother0000001')
      .query(signed.query)
      .set('Content-Type', 'text/xml')
      .send(signed.body)
      .expect(200);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(forwardsFrom(from)).toHaveLength(0);
  });
});

describe('forwardUrl on API accounts without FORWARD_SECRET (e2e)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });

  afterAll(async () => {
    await h.close();
  });

  it('should refuse a forwardUrl with a 400 naming FORWARD_SECRET', async () => {
    const res = await request(h.app.getHttpServer())
      .post('/admin/accounts')
      .set('X-Admin-Key', ADMIN_KEY)
      .send({
        kind: 'official_account',
        appid: 'wxnosecret00000001',
        secret: 's',
        token: 'tok123',
        forwardUrl: 'https://backend.example.com/wechat',
      })
      .expect(400);
    expect(res.body.message).toMatch(/FORWARD_SECRET/);
  });
});
