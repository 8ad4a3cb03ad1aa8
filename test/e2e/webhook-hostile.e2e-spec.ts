import request from 'supertest';
import { randomBytes } from 'node:crypto';
import { Harness, OA_APP, startHarness } from 'test/support/create-test-app';
import { mutate, prng } from 'test/support/fuzz';
import { WebhookMode, WeChatSigner, wechatMessages } from 'test/support/wechat-signer';

const TOKEN = 'hostileToken7';
const AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';

describe('WebhookService hostile input (e2e)', () => {
  let h: Harness;
  const signer = new WeChatSigner({ token: TOKEN, aesKey: AES_KEY, appId: OA_APP.appid });

  beforeAll(async () => {
    h = await startHarness({ WECHAT_OA_TOKEN: TOKEN, WECHAT_OA_AES_KEY: AES_KEY });
  });

  afterAll(async () => {
    await h.close();
  });

  const post = (body: string | Buffer, query: Record<string, string>, contentType = 'text/xml') =>
    request(h.app.getHttpServer()).post('/wechat/webhook').query(query).set('Content-Type', contentType).send(body);
  const signedPost = (body: string, mode: WebhookMode = 'plain') => post(body, signer.sign('<xml/>', mode).query);
  const recorded = async () => Number((await h.query('SELECT count(*) FROM wechat_inbound_messages'))[0].count);

  it('should refuse an XXE document with 400 and read no file', async () => {
    const before = await recorded();
    const xxe = `<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>`;
    const res = await signedPost(xxe).expect(400);
    expect(res.body).toEqual({ statusCode: 400, error: 'bad_request', message: expect.stringMatching(/DOCTYPE/) });
    expect(res.text).not.toContain('root:');
    expect(await recorded()).toBe(before);
  });

  it('should answer a billion-laughs document within 1 s', async () => {
    const entities = Array.from(
      { length: 9 },
      (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`,
    ).join('');
    const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">${entities}]><xml><Content>&lol9;</Content></xml>`;
    const started = Date.now();
    await signedPost(bomb).expect(400);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('should refuse a DOCTYPE hidden in the envelope of a safe-mode message', async () => {
    const signed = signer.sign(wechatMessages.text('x'), 'safe');
    await post(`<!DOCTYPE x>${signed.body}`, signed.query).expect(400);
  });

  it('should answer 413 in JSON to a 1 MiB body and record nothing', async () => {
    const before = await recorded();
    const big = wechatMessages.text('x'.repeat(1024 * 1024));
    const res = await post(big, signer.sign(big).query).expect(413);
    expect(res.body).toEqual({ statusCode: 413, error: 'payload_too_large', message: expect.any(String) });
    expect(await recorded()).toBe(before);
  });

  it.each([
    ['truncated XML', wechatMessages.text('hello').slice(0, 80)],
    ['random bytes', randomBytes(512).toString('latin1')],
    ['an empty body', ''],
    ['a JSON body', '{"ToUserName":"gh"}'],
    ['XML without the required fields', '<xml><Content>hi</Content></xml>'],
    ['two documents', `${wechatMessages.text('a')}${wechatMessages.text('b')}`],
  ])('should answer 400 in JSON to %s and record nothing', async (_label, body) => {
    const before = await recorded();
    const res = await signedPost(body).expect(400);
    expect(res.body).toEqual({ statusCode: 400, error: 'bad_request', message: expect.any(String) });
    expect(await recorded()).toBe(before);
  });

  it('should answer 415 to a body that is not sent as XML', async () => {
    const res = await post('{"a":1}', signer.sign('<xml/>').query, 'application/json').expect(415);
    expect(res.body.error).toBe('unsupported_media_type');
  });

  it.each([
    ['not base64', '<xml><Encrypt><![CDATA[@@@@]]></Encrypt></xml>'],
    ['not whole blocks', `<xml><Encrypt><![CDATA[${Buffer.alloc(20).toString('base64')}]]></Encrypt></xml>`],
    ['random blocks', `<xml><Encrypt><![CDATA[${randomBytes(64).toString('base64')}]]></Encrypt></xml>`],
  ])('should answer 400 to a correctly signed Encrypt that is %s', async (_label, body) => {
    const encrypt = /CDATA\[(.*)\]\]/.exec(body)![1];
    const { wechatSignature } = await import('src/wechat/crypto/signature');
    const query = signer.sign('<xml/>').query;
    await post(body, {
      ...query,
      encrypt_type: 'aes',
      msg_signature: wechatSignature([TOKEN, query.timestamp, query.nonce, encrypt]),
    }).expect(400);
  });

  it('should never answer 5xx or crash on 1,000 signed mutations of valid messages', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? 20261123);
    const random = prng(seed);
    const samples = [
      wechatMessages.text('你好 <b>&amp;</b>'),
      wechatMessages.image(),
      wechatMessages.voice('识别'),
      wechatMessages.location(),
      wechatMessages.link(),
      wechatMessages.event('subscribe', { EventKey: 'qrscene_1', Ticket: 'T' }),
      wechatMessages.event('CLICK', { EventKey: 'K' }),
      wechatMessages.event('LOCATION', { Latitude: 1.5, Longitude: 2.5, Precision: 3 }),
    ];
    const statuses = new Map<number, number>();
    for (let i = 0; i < 1000; i += 1) {
      let body = samples[i % samples.length];
      const rounds = 1 + Math.floor(random() * 3);
      for (let r = 0; r < rounds; r += 1) {
        body = mutate(body, random);
      }
      const mode: WebhookMode = i % 5 === 0 ? 'safe' : 'plain';
      let res;
      if (mode === 'safe' && body.length > 0) {
        const signed = signer.sign(body, 'safe');
        res = await post(signed.body.replace(/<ToUserName>.*?<\/ToUserName>/, ''), signed.query);
      } else {
        res = await signedPost(body);
      }
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status >= 500) {
        throw new Error(`seed ${seed} case ${i}: ${res.status} ${res.text} for ${JSON.stringify(body)}`);
      }
      expect([200, 400, 413, 415]).toContain(res.status);
    }
    // The mutations must reach the parser and beyond, not only bounce off the first check.
    expect(statuses.get(200)).toBeGreaterThan(50);
    expect(statuses.get(400)).toBeGreaterThan(50);
    await request(h.app.getHttpServer()).get('/health').expect(200);
  });
});

describe('WebhookModule without credentials (e2e)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ WECHAT_OA_TOKEN: undefined, WECHAT_OA_AES_KEY: undefined });
  });

  afterAll(async () => {
    await h.close();
  });

  it('should stay mounted and answer 503 naming WECHAT_OA_TOKEN, GET and POST', async () => {
    const get = await request(h.app.getHttpServer()).get('/wechat/webhook').query({ echostr: 'x' }).expect(503);
    expect(get.body).toEqual({
      statusCode: 503,
      error: 'not_configured',
      message: expect.stringContaining('WECHAT_OA_TOKEN'),
    });
    const post = await request(h.app.getHttpServer())
      .post('/wechat/webhook')
      .set('Content-Type', 'text/xml')
      .send(wechatMessages.text('hi'))
      .expect(503);
    expect(post.body.message).toContain('WECHAT_OA_TOKEN');
  });

  it('should answer 503 naming WECHAT_OA_AES_KEY to a safe-mode message when only the Token is set', async () => {
    const app = await h.startInstance({ WECHAT_OA_TOKEN: TOKEN });
    const signed = new WeChatSigner({ token: TOKEN, aesKey: AES_KEY, appId: OA_APP.appid }).sign(
      wechatMessages.text('hi'),
      'safe',
    );
    const res = await request(app.getHttpServer())
      .post('/wechat/webhook')
      .query(signed.query)
      .set('Content-Type', 'text/xml')
      .send(signed.body)
      .expect(503);
    expect(res.body).toEqual({
      statusCode: 503,
      error: 'not_configured',
      message: expect.stringContaining('WECHAT_OA_AES_KEY'),
    });
  });

  it('should answer 404 to any domain-check file when WECHAT_OA_DOMAIN_VERIFY is unset', async () => {
    await request(h.app.getHttpServer()).get('/MP_verify_anything.txt').expect(404);
  });
});
