import request from 'supertest';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ADMIN_KEY, Harness, MP_APP, OA_APP, startHarness } from 'test/support/create-test-app';
import { eventually } from 'test/support/eventually';
import { WeChatSigner, wechatMessages } from 'test/support/wechat-signer';
import { refuseMessagesTo, sentMessages } from 'test/fake-wechat/routes/message.routes';

const TOKEN = 'outboxTestToken42';
const SEND = '/cgi-bin/message/custom/send';

describe('Outbox: POST/GET /admin/messages (e2e)', () => {
  let h: Harness;
  let follower = 0;
  const signer = new WeChatSigner({ token: TOKEN, appId: OA_APP.appid });

  beforeAll(async () => {
    h = await startHarness({ WECHAT_OA_TOKEN: TOKEN });
  });

  afterAll(async () => {
    await h.close();
  });

  beforeEach(() => {
    h.fake.clearFaults();
  });

  const post = (body: object, app: NestFastifyApplication = h.app) =>
    request(app.getHttpServer()).post('/admin/messages').set('X-Admin-Key', ADMIN_KEY).send(body);
  const get = (path: string) => request(h.app.getHttpServer()).get(path).set('X-Admin-Key', ADMIN_KEY);
  /** A follower who wrote `hoursAgo` hours ago (the 48-hour window's record). */
  const activeFollower = async (hoursAgo = 1): Promise<string> => {
    follower += 1;
    const openid = `o-outbox-${follower}-${Date.now()}`;
    await h.query(
      `INSERT INTO wechat_follower_activity (appid, openid, last_at) VALUES ($1, $2, now() - $3 * interval '1 hour')`,
      [OA_APP.appid, openid, hoursAgo],
    );
    return openid;
  };
  const settled = (id: string) =>
    eventually(
      async () => {
        const res = await get(`/admin/messages/${id}`).expect(200);
        return ['sent', 'failed'].includes(res.body.status) ? res.body : undefined;
      },
      10_000,
      `message ${id} to be sent or failed`,
    );

  describe('each kind goes out as WeChat JSON', () => {
    const customs: [string, object, object][] = [
      ['text', { text: { content: '您的订单已发货' } }, { text: { content: '您的订单已发货' } }],
      ['image', { image: { media_id: 'MEDIA_IMG' } }, { image: { media_id: 'MEDIA_IMG' } }],
      ['voice', { voice: { media_id: 'MEDIA_VOICE' } }, { voice: { media_id: 'MEDIA_VOICE' } }],
      [
        'video',
        { video: { media_id: 'MEDIA_VIDEO', thumb_media_id: 'THUMB', title: '标题', description: '描述' } },
        { video: { media_id: 'MEDIA_VIDEO', thumb_media_id: 'THUMB', title: '标题', description: '描述' } },
      ],
      [
        'music',
        {
          music: {
            title: '歌',
            description: '好听',
            musicurl: 'https://m.example.com/a.mp3',
            hqmusicurl: 'https://m.example.com/a-hq.mp3',
            thumb_media_id: 'THUMB',
          },
        },
        {
          music: {
            title: '歌',
            description: '好听',
            musicurl: 'https://m.example.com/a.mp3',
            hqmusicurl: 'https://m.example.com/a-hq.mp3',
            thumb_media_id: 'THUMB',
          },
        },
      ],
      [
        'news',
        {
          news: {
            articles: [{ title: '新品', description: '看看', url: 'https://e.com/n', picurl: 'https://e.com/p.jpg' }],
          },
        },
        {
          news: {
            articles: [{ title: '新品', description: '看看', url: 'https://e.com/n', picurl: 'https://e.com/p.jpg' }],
          },
        },
      ],
      ['mpnews', { mpnews: { media_id: 'MEDIA_NEWS' } }, { mpnews: { media_id: 'MEDIA_NEWS' } }],
      [
        'miniprogrampage',
        { miniprogrampage: { title: '小程序', appid: MP_APP.appid, pagepath: 'pages/index', thumb_media_id: 'THUMB' } },
        { miniprogrampage: { title: '小程序', appid: MP_APP.appid, pagepath: 'pages/index', thumb_media_id: 'THUMB' } },
      ],
    ];

    it.each(customs)('should send a custom %s message exactly as WeChat takes it', async (msgtype, given, sent) => {
      const touser = await activeFollower();
      const res = await post({ kind: 'custom', touser, msgtype, ...given }).expect(202);
      expect(res.body).toEqual({ id: expect.any(String), status: 'queued' });
      const done = await settled(res.body.id);
      expect(done).toMatchObject({ status: 'sent', attempts: 1, kind: 'custom', appid: OA_APP.appid, lastError: null });
      expect(sentMessages(h.fake, touser).map((message) => message.body)).toEqual([{ touser, msgtype, ...sent }]);
    });

    it('should send a template message with its url, miniprogram and data, and keep the msgid', async () => {
      const touser = 'o-template-1';
      const res = await post({
        kind: 'template',
        touser,
        templateId: 'TPL_ORDER',
        url: 'https://shop.example.com/o/1',
        miniprogram: { appid: MP_APP.appid, pagepath: 'pages/order?id=1' },
        data: { thing1: { value: '已发货', color: '#173177' }, character_string2: { value: 'SF123456' } },
      }).expect(202);
      const done = await settled(res.body.id);
      const [message] = sentMessages(h.fake, touser);
      expect(message.body).toEqual({
        touser,
        template_id: 'TPL_ORDER',
        url: 'https://shop.example.com/o/1',
        miniprogram: { appid: MP_APP.appid, pagepath: 'pages/order?id=1' },
        data: { thing1: { value: '已发货', color: '#173177' }, character_string2: { value: 'SF123456' } },
        client_msg_id: res.body.id,
      });
      expect(done).toMatchObject({ status: 'sent', msgid: String(message.msgid) });
      const metrics = await request(h.app.getHttpServer()).get('/metrics').expect(200);
      expect(metrics.text).toMatch(/outbound_messages_total\{kind="template",status="sent"\} [1-9]/);
    });

    it("should send a subscribe message through the mini-program's token", async () => {
      const touser = 'o-subscribe-1';
      const res = await post({
        kind: 'subscribe',
        touser,
        templateId: 'SUB_TPL',
        page: 'pages/index?from=msg',
        miniprogramState: 'trial',
        data: { thing1: { value: '会议' }, time2: { value: '2026-01-01 10:00' } },
      }).expect(202);
      expect(await settled(res.body.id)).toMatchObject({ status: 'sent', kind: 'subscribe', appid: MP_APP.appid });
      const [message] = sentMessages(h.fake, touser);
      expect(message).toMatchObject({ kind: 'subscribe', appid: MP_APP.appid });
      expect(message.body).toEqual({
        touser,
        template_id: 'SUB_TPL',
        page: 'pages/index?from=msg',
        miniprogram_state: 'trial',
        data: { thing1: { value: '会议' }, time2: { value: '2026-01-01 10:00' } },
      });
    });
  });

  it('should answer the first message for an idempotency key used again, and send it once', async () => {
    const touser = await activeFollower();
    const body = { kind: 'custom', touser, msgtype: 'text', text: { content: 'once' }, idempotencyKey: 'order-42' };
    const first = await post(body).expect(202);
    const again = await post({ ...body, text: { content: 'twice?' } }).expect(200);
    expect(again.body).toMatchObject({ id: first.body.id, kind: 'custom', touser });
    await settled(first.body.id);
    expect(sentMessages(h.fake, touser).map((message) => message.body.text)).toEqual([{ content: 'once' }]);
    const count = await h.query<{ count: string }>(
      `SELECT count(*) FROM wechat_outbound_messages WHERE idempotency_key = 'order-42'`,
    );
    expect(Number(count[0].count)).toBe(1);
  });

  it.each([
    [{ touser: 'o-x1234567', msgtype: 'text', text: { content: 'hi' } }, /kind/],
    [{ kind: 'custom', msgtype: 'text', text: { content: 'hi' } }, /touser/],
    [{ kind: 'custom', touser: 'o-x1234567', msgtype: 'fax', fax: {} }, /msgtype/],
    [{ kind: 'custom', touser: 'o-x1234567', msgtype: 'text', text: {} }, /text\.content/],
    [{ kind: 'custom', touser: 'o-x1234567', msgtype: 'image', image: { mediaId: 'x' } }, /image\.mediaId/],
    [{ kind: 'custom', touser: 'o-x1234567', msgtype: 'news', news: { articles: [] } }, /news\.articles/],
    [{ kind: 'template', touser: 'o-x1234567', data: { thing1: { value: 'x' } } }, /templateId/],
    [
      {
        kind: 'template',
        touser: 'o-x1234567',
        templateId: 'T',
        data: { thing1: { value: '一二三四五六七八九十一二三四五六七八九十一' } },
      },
      /data\.thing1\.value.*20/,
    ],
    [{ kind: 'template', touser: 'o-x1234567', templateId: 'T', data: { thing1: 'x' } }, /data\.thing1/],
    [
      { kind: 'subscribe', touser: 'o-x1234567', templateId: 'T', data: { phrase3: { value: '一二三四五六' } } },
      /data\.phrase3\.value.*5/,
    ],
    [
      {
        kind: 'subscribe',
        touser: 'o-x1234567',
        templateId: 'T',
        miniprogramState: 'beta',
        data: { thing1: { value: 'x' } },
      },
      /miniprogramState/,
    ],
    [{ kind: 'custom', touser: 'o-x1234567', msgtype: 'text', text: { content: 'hi' }, appid: 'nope' }, /appid/],
  ])('should answer 400 naming the bad field of %j', async (body, field) => {
    const res = await post(body).expect(400);
    expect(res.body).toEqual({ statusCode: 400, error: 'bad_request', message: expect.stringMatching(field) });
  });

  it('should retry after WeChat was busy (-1) and send on a later try', async () => {
    const touser = await activeFollower();
    h.fake.inject(SEND, { errcode: -1 }, 2);
    const res = await post({ kind: 'custom', touser, msgtype: 'text', text: { content: 'busy?' } }).expect(202);
    const waiting = await eventually(async () => {
      const rows = await h.query<{
        status: string;
        attempts: number;
        last_errcode: number;
        last_error_code: string;
        due_at: Date;
      }>('SELECT status, attempts, last_errcode, last_error_code, due_at FROM wechat_outbound_messages WHERE id = $1', [
        res.body.id,
      ]);
      return rows[0].attempts === 1 && rows[0].status === 'queued' ? rows[0] : undefined;
    });
    expect(waiting).toMatchObject({ last_errcode: -1, last_error_code: 'wechat_unavailable' });
    expect(new Date(waiting.due_at).getTime()).toBeGreaterThan(Date.now() + 3_000);
    await h.query('UPDATE wechat_outbound_messages SET due_at = now() WHERE id = $1', [res.body.id]);
    expect(await settled(res.body.id)).toMatchObject({ status: 'sent', attempts: 2 });
    expect(sentMessages(h.fake, touser)).toHaveLength(1);
  });

  it('should retry after an HTTP 5xx', async () => {
    const touser = await activeFollower();
    h.fake.inject(SEND, { httpStatus: 502 });
    const res = await post({ kind: 'custom', touser, msgtype: 'text', text: { content: '5xx' } }).expect(202);
    // The attempt is counted when the row is claimed ('sending'); its outcome comes a moment later.
    const view = await eventually(async () => {
      const body = (await get(`/admin/messages/${res.body.id}`)).body;
      return body.attempts === 1 && body.status !== 'sending' ? body : undefined;
    });
    expect(view).toMatchObject({ status: 'queued', lastError: { errcode: null, error: 'wechat_unavailable' } });
  });

  it.each([
    ['custom', 43004, 'not_follower'],
    ['custom', 45015, 'outside_window'],
    ['custom', 40003, 'invalid_openid'],
    ['template', 40037, 'invalid_template'],
    ['template', 47003, 'invalid_data'],
    ['subscribe', 43101, 'declined'],
    ['subscribe', 45009, 'wechat_rate_limited'],
  ])('should fail a %s message at once when WeChat refuses it with %i', async (kind, errcode, error) => {
    const touser = kind === 'custom' ? await activeFollower() : `o-refused-${errcode}`;
    refuseMessagesTo(h.fake, touser, errcode);
    const body =
      kind === 'custom'
        ? { kind, touser, msgtype: 'text', text: { content: 'no' } }
        : { kind, touser, templateId: 'T', data: { thing1: { value: 'x' } } };
    const res = await post(body).expect(202);
    const done = await settled(res.body.id);
    expect(done).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: { errcode, error, message: expect.any(String) },
    });
    expect(done.lastError.message).not.toMatch(/rid:/);
  });

  describe('the 48-hour window', () => {
    it('should refuse a custom message to a follower silent for more than 48 hours, before calling WeChat', async () => {
      const touser = await activeFollower(49);
      const calls = h.fake.callCount(SEND);
      const res = await post({ kind: 'custom', touser, msgtype: 'text', text: { content: 'late' } }).expect(409);
      expect(res.body).toEqual({
        statusCode: 409,
        error: 'outside_window',
        message: expect.stringContaining('48 hours'),
      });
      expect(h.fake.callCount(SEND)).toBe(calls);
      const rows = await h.query('SELECT 1 FROM wechat_outbound_messages WHERE touser = $1', [touser]);
      expect(rows).toHaveLength(0);
    });

    it('should refuse one to an openid that never wrote, and allow it once the follower writes', async () => {
      const touser = `o-new-${Date.now()}`;
      await post({ kind: 'custom', touser, msgtype: 'text', text: { content: 'hi' } }).expect(409);
      const signed = signer.sign(wechatMessages.text('你好', { from: touser }), 'plain');
      await request(h.app.getHttpServer())
        .post('/wechat/webhook')
        .query(signed.query)
        .set('Content-Type', 'text/xml')
        .send(signed.body)
        .expect(200);
      await eventually(
        async () => (await h.query('SELECT 1 FROM wechat_follower_activity WHERE openid = $1', [touser])).length > 0,
      );
      await post({ kind: 'custom', touser, msgtype: 'text', text: { content: 'hi' } }).expect(202);
    });

    it('should not apply the window to template messages', async () => {
      await post({
        kind: 'template',
        touser: 'o-never-wrote',
        templateId: 'T',
        data: { thing1: { value: 'x' } },
      }).expect(202);
    });
  });

  it('should list messages newest first, by status, in pages', async () => {
    const touser = await activeFollower();
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      ids.push(
        (await post({ kind: 'custom', touser, msgtype: 'text', text: { content: `p${i}` } }).expect(202)).body.id,
      );
    }
    await Promise.all(ids.map((id) => settled(id)));
    const first = await get('/admin/messages?status=sent&limit=2').expect(200);
    expect(first.body.messages.map((m: { id: string }) => m.id)).toEqual([ids[2], ids[1]]);
    expect(first.body.next).toBe(ids[1]);
    const second = await get(`/admin/messages?status=sent&limit=2&before=${first.body.next}`).expect(200);
    expect(second.body.messages[0].id).toBe(ids[0]);
    expect(second.body.messages.every((m: { status: string }) => m.status === 'sent')).toBe(true);
    await get('/admin/messages?limit=101').expect(400);
    await get('/admin/messages?status=lost').expect(400);
    await get('/admin/messages/00000000-0000-0000-0000-000000000000').expect(404);
    await request(h.app.getHttpServer()).get('/admin/messages').expect(401);
  });

  it('should drain one outbox with two instances, no message sent twice', async () => {
    const second = await h.startInstance();
    const touser = await activeFollower();
    const ids = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        post({ kind: 'custom', touser, msgtype: 'text', text: { content: `m${i}` } }, i % 2 ? second : h.app)
          .expect(202)
          .then((res) => res.body.id as string),
      ),
    );
    await eventually(
      async () => {
        const rows = await h.query<{ count: string }>(
          `SELECT count(*) FROM wechat_outbound_messages WHERE touser = $1 AND status = 'sent'`,
          [touser],
        );
        return Number(rows[0].count) === ids.length || undefined;
      },
      20_000,
      'every message to be sent',
    );
    const contents = sentMessages(h.fake, touser).map((message) => (message.body.text as { content: string }).content);
    expect(contents).toHaveLength(200);
    expect(new Set(contents).size).toBe(200);
    // Calls for this follower only: a retry of an earlier test's message may land while these drain.
    const calls = h.fake.callsTo(SEND).filter((call) => (call.body as { touser?: string }).touser === touser);
    expect(calls).toHaveLength(200);
  });
});
