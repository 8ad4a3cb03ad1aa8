import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import request from 'supertest';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ADMIN_KEY, Harness, OA_APP, startHarness } from 'test/support/create-test-app';
import { nextMsgId, WebhookMode, WeChatSigner, wechatMessages } from 'test/support/wechat-signer';
import { sha256Hex } from 'src/common/sealing/secret-sealer';
import { parseXml } from 'src/wechat/xml/xml.codec';

const TOKEN = 'webhookTestToken42';
const AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const OLD_AES_KEY = 'ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut';
const WELCOME = '欢迎关注 🎉';

describe('WebhookController (e2e)', () => {
  let h: Harness;
  const signer = new WeChatSigner({ token: TOKEN, aesKey: AES_KEY, appId: OA_APP.appid });

  beforeAll(async () => {
    h = await startHarness({
      WECHAT_OA_TOKEN: TOKEN,
      WECHAT_OA_AES_KEY: AES_KEY,
      WECHAT_OA_AES_KEY_PREVIOUS: OLD_AES_KEY,
      WECHAT_OA_WELCOME_TEXT: WELCOME,
      WECHAT_OA_DOMAIN_VERIFY: 'AbC123xyz',
    });
  });

  afterAll(async () => {
    await h.close();
  });

  beforeEach(() => {
    h.fake.clearFaults();
    h.fake.resetCalls();
  });

  const send = (xml: string, mode: WebhookMode = 'plain', app: NestFastifyApplication = h.app) => {
    const signed = signer.sign(xml, mode);
    return request(app.getHttpServer())
      .post('/wechat/webhook')
      .query(signed.query)
      .set('Content-Type', 'text/xml')
      .send(signed.body);
  };
  const admin = () => request(h.app.getHttpServer());
  const count = async (sql: string, params: unknown[] = []) => Number((await h.query(sql, params))[0].count);
  const recorded = (msgId: string) => count('SELECT count(*) FROM wechat_inbound_messages WHERE msg_id = $1', [msgId]);
  const totalRecorded = () => count('SELECT count(*) FROM wechat_inbound_messages');
  const addRule = (rule: object) => admin().post('/admin/auto-replies').set('X-Admin-Key', ADMIN_KEY).send(rule);

  describe('URL verification (GET)', () => {
    it('should answer echostr as text/plain when the signature holds', async () => {
      const res = await request(h.app.getHttpServer())
        .get('/wechat/webhook')
        .query(signer.verification('7061736b'))
        .expect(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.text).toBe('7061736b');
    });

    it.each([
      ['a wrong signature', { signature: '0'.repeat(40) }],
      ['no signature', { signature: undefined }],
      ['another nonce', { nonce: '1' }],
    ])('should answer 401 and no echostr for %s', async (_label, change) => {
      const query = { ...signer.verification('echo-me'), ...change };
      const res = await request(h.app.getHttpServer()).get('/wechat/webhook').query(query).expect(401);
      expect(res.body).toEqual({ statusCode: 401, error: 'invalid_signature', message: expect.any(String) });
      expect(res.text).not.toContain('echo-me');
    });
  });

  describe('messages in plaintext mode', () => {
    it('should answer success to a text nobody has a rule for and record it once', async () => {
      const msgId = nextMsgId();
      const res = await send(wechatMessages.text('随便说说', { msgId })).expect(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.text).toBe('success');
      expect(await recorded(msgId)).toBe(1);
      const rows = await h.query(
        'SELECT msg_type, from_user_name, event, fields, reply FROM wechat_inbound_messages WHERE msg_id = $1',
        [msgId],
      );
      // The fields that have columns are not kept twice.
      expect(rows).toEqual([
        {
          msg_type: 'text',
          from_user_name: expect.any(String),
          event: null,
          reply: 'success',
          fields: { Content: '随便说说' },
        },
      ]);
    });

    it('should match the path as every other route does: any case, a trailing slash, the query kept', async () => {
      const xml = wechatMessages.text('路径');
      const signed = signer.sign(xml);
      await request(h.app.getHttpServer())
        .post('/WeChat/Webhook/')
        .query(signed.query)
        .set('Content-Type', 'application/xml; charset=utf-8')
        .send(signed.body)
        .expect(200, 'success');
      expect(await recorded(String(parseXml(xml).MsgId))).toBe(1);
    });

    it('should leave other methods on the path to the framework (a JSON 404)', async () => {
      const res = await request(h.app.getHttpServer()).put('/wechat/webhook').send('x').expect(404);
      expect(res.body).toEqual({ statusCode: 404, error: 'not_found', message: expect.any(String) });
    });

    it('should answer 401 to a wrong signature and record nothing', async () => {
      const before = await totalRecorded();
      const signed = signer.sign(wechatMessages.text('hi'));
      await request(h.app.getHttpServer())
        .post('/wechat/webhook')
        .query({ ...signed.query, signature: 'f'.repeat(40) })
        .set('Content-Type', 'text/xml')
        .send(signed.body)
        .expect(401);
      expect(await totalRecorded()).toBe(before);
    });

    it.each([
      ['image', () => wechatMessages.image()],
      ['voice', () => wechatMessages.voice('语音识别')],
      ['video', () => wechatMessages.video()],
      ['shortvideo', () => wechatMessages.video({}, 'shortvideo')],
      ['location', () => wechatMessages.location()],
      ['link', () => wechatMessages.link()],
    ])('should record a %s message and answer success', async (type, build) => {
      const xml = build();
      const msgId = String(parseXml(xml).MsgId);
      const res = await send(xml).expect(200);
      expect(res.text).toBe('success');
      const rows = await h.query('SELECT msg_type FROM wechat_inbound_messages WHERE msg_id = $1', [msgId]);
      expect(rows).toEqual([{ msg_type: type }]);
    });

    it.each([
      ['SCAN', { EventKey: 'SCENE_1', Ticket: 'TICKET' }],
      ['LOCATION', { Latitude: 23.137466, Longitude: 113.352425, Precision: 119.38504 }],
      ['VIEW', { EventKey: 'https://example.com/' }],
      ['TEMPLATESENDJOBFINISH', { MsgID: 200163836, Status: 'success' }],
    ])('should record a %s event once, with its own fields, and answer success', async (event, extra) => {
      const xml = wechatMessages.event(event, extra, { from: `o-${event}` });
      await send(xml).expect(200, 'success');
      await send(xml).expect(200, 'success');
      const rows = await h.query(
        'SELECT msg_type, fields FROM wechat_inbound_messages WHERE event = $1 AND from_user_name = $2',
        [event, `o-${event}`],
      );
      expect(rows).toEqual([
        { msg_type: 'event', fields: Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, String(v)])) },
      ]);
    });
  });

  describe('followers', () => {
    it('should keep a new follower as subscribed and greet them with the welcome text', async () => {
      const res = await send(wechatMessages.event('subscribe', {}, { from: 'o-new-fan', to: 'gh_account' })).expect(
        200,
      );
      expect(res.headers['content-type']).toMatch(/^application\/xml/);
      const reply = parseXml(res.text);
      expect(reply).toEqual({
        ToUserName: 'o-new-fan',
        FromUserName: 'gh_account',
        CreateTime: expect.stringMatching(/^\d{10}$/),
        MsgType: 'text',
        Content: WELCOME,
      });
      const rows = await h.query('SELECT appid, source, subscribed FROM wechat_identities WHERE openid = $1', [
        'o-new-fan',
      ]);
      expect(rows).toEqual([{ appid: OA_APP.appid, source: 'official_account', subscribed: true }]);
    });

    it('should show the follower as a subscribed official-account identity in /api/me, then unsubscribed', async () => {
      const at = Math.floor(Date.now() / 1000);
      await send(wechatMessages.event('subscribe', {}, { from: 'o-me-fan', createTime: at })).expect(200);
      const rows = await h.query<{ user_id: string }>('SELECT user_id FROM wechat_identities WHERE openid = $1', [
        'o-me-fan',
      ]);
      const token = randomBytes(32).toString('base64url');
      await h.query(
        `INSERT INTO sessions (user_id, token_hash, expires_at) VALUES ($1, $2, now() + interval '1 hour')`,
        [rows[0].user_id, sha256Hex(token)],
      );
      const me = () => admin().get('/api/me').set('Authorization', `Bearer ${token}`).expect(200);
      expect((await me()).body.identities).toEqual([
        { appid: OA_APP.appid, openid: 'o-me-fan', source: 'official_account', subscribed: true },
      ]);
      await send(wechatMessages.event('unsubscribe', {}, { from: 'o-me-fan', createTime: at + 1 })).expect(200);
      expect((await me()).body.identities[0].subscribed).toBe(false);
    });

    it('should greet a follower who came through a parametric QR code (qrscene_)', async () => {
      const xml = wechatMessages.event('subscribe', { EventKey: 'qrscene_123', Ticket: 'T' }, { from: 'o-qr-fan' });
      const res = await send(xml).expect(200);
      expect(parseXml(res.text).Content).toBe(WELCOME);
    });

    it('should mark a follower who leaves as unsubscribed, and subscribed again on return', async () => {
      const subscribed = async () =>
        (await h.query('SELECT subscribed FROM wechat_identities WHERE openid = $1', ['o-fickle']))[0].subscribed;
      const at = Math.floor(Date.now() / 1000);
      await send(wechatMessages.event('subscribe', {}, { from: 'o-fickle', createTime: at })).expect(200);
      const res = await send(wechatMessages.event('unsubscribe', {}, { from: 'o-fickle', createTime: at + 1 })).expect(
        200,
      );
      expect(res.text).toBe('success');
      expect(await subscribed()).toBe(false);
      await send(wechatMessages.event('subscribe', {}, { from: 'o-fickle', createTime: at + 2 })).expect(200);
      expect(await subscribed()).toBe(true);
    });
  });

  describe('once only', () => {
    it('should give a retry of the same MsgId the same reply and record it once', async () => {
      await addRule({ match: 'exact', keyword: '重试', reply: { type: 'text', content: '只回一次' } }).expect(201);
      const xml = wechatMessages.text('重试');
      const first = await send(xml).expect(200);
      const second = await send(xml).expect(200);
      expect(parseXml(first.text).Content).toBe('只回一次');
      expect(second.text).toBe(first.text);
      expect(await recorded(String(parseXml(xml).MsgId))).toBe(1);
    });

    it('should give the retry the same reply when it lands on another instance', async () => {
      const other = await h.startInstance();
      const xml = wechatMessages.event('subscribe', {}, { from: 'o-two-instances' });
      const first = await send(xml).expect(200);
      const second = await send(xml, 'plain', other).expect(200);
      expect(second.text).toBe(first.text);
      expect(await count("SELECT count(*) FROM wechat_inbound_messages WHERE from_user_name = 'o-two-instances'")).toBe(
        1,
      );
    });

    it('should record a burst of 20 simultaneous deliveries on two instances once, all with one reply', async () => {
      const other = await h.startInstance();
      await addRule({ match: 'exact', keyword: '并发', reply: { type: 'text', content: '一次' } }).expect(201);
      const xml = wechatMessages.text('并发');
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => send(xml, 'plain', i % 2 ? other : h.app)),
      );
      expect(new Set(answers.map((res) => res.status))).toEqual(new Set([200]));
      expect(new Set(answers.map((res) => res.text)).size).toBe(1);
      expect(parseXml(answers[0].text).Content).toBe('一次');
      expect(await recorded(String(parseXml(xml).MsgId))).toBe(1);
    });

    it('should give each of 60 simultaneous deliveries, recorded together, its own reply and one record', async () => {
      // Deliveries that arrive together are written in one statement: each must still get its own answer.
      for (const n of [1, 2, 3]) {
        await addRule({ match: 'exact', keyword: `批量${n}`, reply: { type: 'text', content: `回复${n}` } }).expect(
          201,
        );
      }
      const messages = Array.from({ length: 40 }, (_, i) => ({
        n: (i % 3) + 1,
        from: `o-batch-${i}`,
        xml: wechatMessages.text(`批量${(i % 3) + 1}`, { from: `o-batch-${i}` }),
      }));
      // Every fourth message is also delivered a second time in the same burst (a retry racing its original).
      const deliveries = [...messages, ...messages.filter((_, i) => i % 2 === 0)];
      const answers = await Promise.all(deliveries.map((message) => send(message.xml)));
      answers.forEach((res, i) => {
        expect(res.status).toBe(200);
        const reply = parseXml(res.text);
        expect(reply.ToUserName).toBe(deliveries[i].from);
        expect(reply.Content).toBe(`回复${deliveries[i].n}`);
      });
      const ids = messages.map((message) => String(parseXml(message.xml).MsgId));
      const rows = await h.query<{ msg_id: string; copies: string }>(
        `SELECT msg_id, count(*) AS copies FROM wechat_inbound_messages WHERE msg_id = ANY($1) GROUP BY msg_id`,
        [ids],
      );
      expect(rows).toHaveLength(40);
      expect(rows.every((row) => Number(row.copies) === 1)).toBe(true);
    });

    it('should answer success before the 5 s deadline when a handler stalls, and keep success for the retries', async () => {
      const locker = new Client({ connectionString: h.db.url });
      await locker.connect();
      const openid = 'o-slow-fan';
      await send(wechatMessages.event('subscribe', {}, { from: openid, createTime: 1_700_000_000 })).expect(200);
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM wechat_identities WHERE openid = $1 FOR UPDATE', [openid]);
      try {
        const xml = wechatMessages.event('subscribe', {}, { from: openid, createTime: 1_700_000_100 });
        const started = Date.now();
        const res = await send(xml).expect(200);
        const took = Date.now() - started;
        expect(res.text).toBe('success');
        expect(took).toBeGreaterThanOrEqual(4000);
        expect(took).toBeLessThan(5000);
        await locker.query('ROLLBACK');
        const retry = await send(xml).expect(200);
        expect(retry.text).toBe('success');
      } finally {
        await locker.end();
      }
    });
  });

  describe('auto-reply rules', () => {
    it('should reply by an exact keyword before a contained one', async () => {
      await addRule({ match: 'contains', keyword: '价格', reply: { type: 'text', content: '请看价目表' } }).expect(201);
      await addRule({ match: 'exact', keyword: '价格表', reply: { type: 'text', content: '完整价格表' } }).expect(201);
      expect(parseXml((await send(wechatMessages.text('价格表'))).text).Content).toBe('完整价格表');
      expect(parseXml((await send(wechatMessages.text('请问价格多少'))).text).Content).toBe('请看价目表');
      expect((await send(wechatMessages.text('价'))).text).toBe('success');
    });

    it('should reply to a recognised voice message by keyword', async () => {
      await addRule({ match: 'contains', keyword: '天气', reply: { type: 'text', content: '晴' } }).expect(201);
      expect(parseXml((await send(wechatMessages.voice('今天天气怎么样'))).text).Content).toBe('晴');
    });

    it('should reply to a menu CLICK by its EventKey', async () => {
      await addRule({
        event: 'CLICK',
        eventKey: 'V1001_NEWS',
        reply: {
          type: 'news',
          articles: [{ title: '标题', description: '描述', picUrl: 'https://p/1.jpg', url: 'https://u/1' }],
        },
      }).expect(201);
      const at = Math.floor(Date.now() / 1000);
      const res = await send(
        wechatMessages.event('CLICK', { EventKey: 'V1001_NEWS' }, { from: 'o-clicker', createTime: at }),
      );
      expect(parseXml(res.text)).toMatchObject({
        ToUserName: 'o-clicker',
        MsgType: 'news',
        ArticleCount: '1',
        Articles: { item: { Title: '标题', Description: '描述', PicUrl: 'https://p/1.jpg', Url: 'https://u/1' } },
      });
      const other = await send(
        wechatMessages.event('CLICK', { EventKey: 'OTHER' }, { from: 'o-clicker', createTime: at + 1 }),
      );
      expect(other.text).toBe('success');
    });

    it.each([
      ['image', { type: 'image', mediaId: 'm-img' }, { MsgType: 'image', Image: { MediaId: 'm-img' } }],
      ['voice', { type: 'voice', mediaId: 'm-voice' }, { MsgType: 'voice', Voice: { MediaId: 'm-voice' } }],
      [
        'video',
        { type: 'video', mediaId: 'm-vid', title: 'T', description: 'D' },
        { MsgType: 'video', Video: { MediaId: 'm-vid', Title: 'T', Description: 'D' } },
      ],
      [
        'music',
        {
          type: 'music',
          title: 'T',
          description: 'D',
          musicUrl: 'http://m',
          hqMusicUrl: 'http://hq',
          thumbMediaId: 'th',
        },
        {
          MsgType: 'music',
          Music: { Title: 'T', Description: 'D', MusicUrl: 'http://m', HQMusicUrl: 'http://hq', ThumbMediaId: 'th' },
        },
      ],
    ])('should send a %s reply in its WeChat shape', async (type, reply, expected) => {
      await addRule({ match: 'exact', keyword: `kw-${type}`, reply }).expect(201);
      expect(parseXml((await send(wechatMessages.text(`kw-${type}`))).text)).toMatchObject(expected);
    });

    it('should keep a ]]> and emoji in a reply intact', async () => {
      const content = 'a]]>b 🐼 <tag>&amp;';
      await addRule({ match: 'exact', keyword: 'cdata', reply: { type: 'text', content } }).expect(201);
      expect(parseXml((await send(wechatMessages.text('cdata'))).text).Content).toBe(content);
    });

    it('should list, show and delete rules', async () => {
      const created = await addRule({ match: 'exact', keyword: 'to-delete', reply: { type: 'text', content: 'x' } });
      expect(created.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        match: 'exact',
        keyword: 'to-delete',
        reply: { type: 'text', content: 'x' },
        createdAt: expect.any(String),
      });
      const list = await admin().get('/admin/auto-replies').set('X-Admin-Key', ADMIN_KEY).expect(200);
      expect(list.body).toContainEqual(created.body);
      await admin()
        .get(`/admin/auto-replies/${created.body.id}`)
        .set('X-Admin-Key', ADMIN_KEY)
        .expect(200, created.body);
      await admin().delete(`/admin/auto-replies/${created.body.id}`).set('X-Admin-Key', ADMIN_KEY).expect(204);
      await admin().get(`/admin/auto-replies/${created.body.id}`).set('X-Admin-Key', ADMIN_KEY).expect(404);
      await admin().delete(`/admin/auto-replies/${created.body.id}`).set('X-Admin-Key', ADMIN_KEY).expect(404);
      await admin().get('/admin/auto-replies/not-a-uuid').set('X-Admin-Key', ADMIN_KEY).expect(404);
      expect((await send(wechatMessages.text('to-delete'))).text).toBe('success');
    });

    it.each([
      ['no reply', { match: 'exact', keyword: 'k' }],
      ['an unknown reply type', { match: 'exact', keyword: 'k', reply: { type: 'sticker' } }],
      ['a text reply without content', { match: 'exact', keyword: 'k', reply: { type: 'text' } }],
      ['an image without mediaId', { match: 'exact', keyword: 'k', reply: { type: 'image' } }],
      [
        '9 news articles',
        {
          match: 'exact',
          keyword: 'k',
          reply: { type: 'news', articles: Array(9).fill({ title: 't', description: 'd', picUrl: 'p', url: 'u' }) },
        },
      ],
      ['no news articles', { match: 'exact', keyword: 'k', reply: { type: 'news', articles: [] } }],
      ['an unknown match', { match: 'regex', keyword: 'k', reply: { type: 'text', content: 'c' } }],
      ['an empty keyword', { match: 'exact', keyword: '', reply: { type: 'text', content: 'c' } }],
      ['neither keyword nor event', { reply: { type: 'text', content: 'c' } }],
      ['an event other than CLICK', { event: 'VIEW', eventKey: 'k', reply: { type: 'text', content: 'c' } }],
      ['a CLICK without eventKey', { event: 'CLICK', reply: { type: 'text', content: 'c' } }],
      [
        'both keyword and event',
        { match: 'exact', keyword: 'k', event: 'CLICK', eventKey: 'k', reply: { type: 'text', content: 'c' } },
      ],
    ])('should refuse a rule with %s (400) and store nothing', async (_label, rule) => {
      const before = await count('SELECT count(*) FROM wechat_auto_reply_rules');
      const res = await addRule(rule).expect(400);
      expect(res.body).toEqual({ statusCode: 400, error: 'bad_request', message: expect.any(String) });
      expect(await count('SELECT count(*) FROM wechat_auto_reply_rules')).toBe(before);
    });

    it('should refuse the rules API without the admin key', async () => {
      await admin().get('/admin/auto-replies').expect(401);
      await admin().post('/admin/auto-replies').set('X-Admin-Key', 'wrong').send({}).expect(401);
    });

    it('should answer success and log when a handler fails, and record the message', async () => {
      await addRule({ match: 'exact', keyword: 'reset-cache', reply: { type: 'text', content: 'x' } }).expect(201);
      await h.query('ALTER TABLE wechat_auto_reply_rules RENAME TO wechat_auto_reply_rules_away');
      try {
        const xml = wechatMessages.text('reset-cache');
        const res = await send(xml).expect(200);
        expect(res.text).toBe('success');
        expect(await recorded(String(parseXml(xml).MsgId))).toBe(1);
      } finally {
        await h.query('ALTER TABLE wechat_auto_reply_rules_away RENAME TO wechat_auto_reply_rules');
      }
    });
  });

  describe('safe and compatible modes', () => {
    it('should decrypt a safe-mode message and encrypt the reply with a valid MsgSignature', async () => {
      await addRule({ match: 'exact', keyword: '安全', reply: { type: 'text', content: '加密回复' } }).expect(201);
      const res = await send(wechatMessages.text('安全', { from: 'o-safe' }), 'safe').expect(200);
      expect(res.headers['content-type']).toMatch(/^application\/xml/);
      const envelope = parseXml(res.text);
      expect(Object.keys(envelope)).toEqual(['Encrypt', 'MsgSignature', 'TimeStamp', 'Nonce']);
      expect(res.text).not.toContain('加密回复');
      const reply = parseXml(signer.openReply(res.text));
      expect(reply).toMatchObject({ ToUserName: 'o-safe', MsgType: 'text', Content: '加密回复' });
    });

    it('should work in compatible mode (plaintext fields and Encrypt both present)', async () => {
      await addRule({ match: 'exact', keyword: '兼容', reply: { type: 'text', content: '兼容回复' } }).expect(201);
      const res = await send(wechatMessages.text('兼容'), 'compat').expect(200);
      expect(parseXml(signer.openReply(res.text)).Content).toBe('兼容回复');
    });

    it('should answer a safe-mode message with nothing to say with plain success', async () => {
      const res = await send(wechatMessages.text('nothing to say here'), 'safe').expect(200);
      expect(res.text).toBe('success');
    });

    it('should still accept a message sealed with the previous EncodingAESKey', async () => {
      const old = new WeChatSigner({ token: TOKEN, aesKey: OLD_AES_KEY, appId: OA_APP.appid });
      const xml = wechatMessages.text('old key');
      const signed = old.sign(xml, 'safe');
      await request(h.app.getHttpServer())
        .post('/wechat/webhook')
        .query(signed.query)
        .set('Content-Type', 'text/xml')
        .send(signed.body)
        .expect(200, 'success');
      expect(await recorded(String(parseXml(xml).MsgId))).toBe(1);
    });

    it('should answer 401 to a wrong msg_signature and record nothing', async () => {
      const before = await totalRecorded();
      const signed = signer.sign(wechatMessages.text('tampered'), 'safe');
      await request(h.app.getHttpServer())
        .post('/wechat/webhook')
        .query({ ...signed.query, msg_signature: 'a'.repeat(40) })
        .set('Content-Type', 'text/xml')
        .send(signed.body)
        .expect(401);
      expect(await totalRecorded()).toBe(before);
    });

    it('should answer 401 when the Encrypt element was swapped after signing', async () => {
      const signed = signer.sign(wechatMessages.text('a'), 'safe');
      const other = signer.sign(wechatMessages.text('b'), 'safe');
      await request(h.app.getHttpServer())
        .post('/wechat/webhook')
        .query(signed.query)
        .set('Content-Type', 'text/xml')
        .send(other.body)
        .expect(401);
    });

    it('should refuse a message sealed for another appid with 400 and record nothing', async () => {
      const before = await totalRecorded();
      const stranger = new WeChatSigner({ token: TOKEN, aesKey: AES_KEY, appId: 'wxsomeoneelse0000' });
      const signed = stranger.sign(wechatMessages.text('not for you'), 'safe');
      const res = await request(h.app.getHttpServer())
        .post('/wechat/webhook')
        .query(signed.query)
        .set('Content-Type', 'text/xml')
        .send(signed.body)
        .expect(400);
      expect(res.body.error).toBe('bad_request');
      expect(await totalRecorded()).toBe(before);
    });
  });

  describe('custom menu', () => {
    const menu = {
      button: [
        { type: 'click', name: '今日歌曲', key: 'V1001_TODAY_MUSIC' },
        { name: '菜单', sub_button: [{ type: 'view', name: '搜索', url: 'https://www.soso.com/' }] },
      ],
    };

    it('should set, show and delete the menu through WeChat with the shared token', async () => {
      await admin().put('/admin/menu').set('X-Admin-Key', ADMIN_KEY).send(menu).expect(200, menu);
      expect(h.fake.callsTo('/cgi-bin/menu/create')[0].body).toEqual(menu);
      const shown = await admin().get('/admin/menu').set('X-Admin-Key', ADMIN_KEY).expect(200);
      expect(shown.body.button).toEqual([
        { ...menu.button[0], sub_button: [] },
        { name: '菜单', sub_button: [{ ...menu.button[1].sub_button![0], sub_button: [] }] },
      ]);
      await admin().delete('/admin/menu').set('X-Admin-Key', ADMIN_KEY).expect(204);
      const gone = await admin().get('/admin/menu').set('X-Admin-Key', ADMIN_KEY).expect(404);
      expect(gone.body.error).toBe('not_found');
      expect(h.fake.callCount('/cgi-bin/stable_token')).toBeLessThanOrEqual(1);
    });

    it('should refuse a menu of four buttons before calling WeChat', async () => {
      const res = await admin()
        .put('/admin/menu')
        .set('X-Admin-Key', ADMIN_KEY)
        .send({ button: Array(4).fill(menu.button[0]) })
        .expect(400);
      expect(res.body.message).toMatch(/1 to 3/);
      expect(h.fake.callCount('/cgi-bin/menu/create')).toBe(0);
    });

    it('should answer 400 in our words when WeChat refuses the menu', async () => {
      const res = await admin()
        .put('/admin/menu')
        .set('X-Admin-Key', ADMIN_KEY)
        .send({ button: [{ type: 'click', name: '一个非常非常长的按钮名字', key: 'K' }] })
        .expect(400);
      expect(res.body).toEqual({
        statusCode: 400,
        error: 'bad_request',
        message: expect.stringMatching(/name is too long/),
      });
      expect(res.text).not.toContain('invalid button name size');
    });

    it('should retry once with a fresh token when WeChat has invalidated the cached one', async () => {
      await admin().put('/admin/menu').set('X-Admin-Key', ADMIN_KEY).send(menu).expect(200);
      const { invalidateTokens } = await import('test/fake-wechat/routes/token.routes');
      invalidateTokens(h.fake, OA_APP.appid);
      h.fake.resetCalls();
      await admin().put('/admin/menu').set('X-Admin-Key', ADMIN_KEY).send(menu).expect(200);
      expect(h.fake.callCount('/cgi-bin/menu/create')).toBe(2);
      expect(h.fake.callCount('/cgi-bin/stable_token')).toBe(1);
    });

    it('should answer 502 wechat_unavailable when WeChat is down', async () => {
      h.fake.inject('/cgi-bin/menu/get', { httpStatus: 502 });
      const res = await admin().get('/admin/menu').set('X-Admin-Key', ADMIN_KEY).expect(502);
      expect(res.body.error).toBe('wechat_unavailable');
    });
  });

  describe('domain check file', () => {
    it('should serve MP_verify_<content>.txt for the configured content only', async () => {
      const res = await admin().get('/MP_verify_AbC123xyz.txt').expect(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.text).toBe('AbC123xyz');
      await admin().get('/MP_verify_other.txt').expect(404);
    });
  });

  describe('API docs', () => {
    it('should describe the webhook and the rule API with its fields', async () => {
      const res = await admin().get('/docs/json').expect(200);
      expect(Object.keys(res.body.paths)).toEqual(
        expect.arrayContaining(['/wechat/webhook', '/admin/auto-replies', '/admin/auto-replies/{id}', '/admin/menu']),
      );
      // POST is served in the fast lane, outside the framework's scan: it is described all the same.
      expect(res.body.paths['/wechat/webhook'].post.requestBody.content).toHaveProperty('text/xml');
      expect(res.body.paths['/wechat/webhook'].get.summary).toMatch(/URL check/);
      expect(Object.keys(res.body.components.schemas.ReplyDto.properties)).toEqual(
        expect.arrayContaining(['type', 'content', 'mediaId', 'articles']),
      );
    });
  });
});
