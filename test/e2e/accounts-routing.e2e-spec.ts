import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { ADMIN_KEY, Harness, OA_APP, startHarness } from 'test/support/create-test-app';
import { WebhookMode, WeChatSigner, wechatMessages } from 'test/support/wechat-signer';
import { parseXml } from 'src/wechat/xml/xml.codec';

const ENV_TOKEN = 'envToken1';
const ENV_AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';

/** An official account added through the admin API, with its own Token, EncodingAESKey and welcome text. */
const BRAND = {
  kind: 'official_account',
  appid: 'wxbrand0000000a01',
  secret: 'brand-a-secret-01',
  name: '品牌A',
  token: 'brandToken2',
  aesKey: 'ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut',
  welcomeText: '欢迎关注品牌A',
  domainVerify: 'brandVerify42',
};

describe('Routing by account (e2e)', () => {
  let h: Harness;
  const envSigner = new WeChatSigner({ token: ENV_TOKEN, aesKey: ENV_AES_KEY, appId: OA_APP.appid });
  const brandSigner = new WeChatSigner({ token: BRAND.token, aesKey: BRAND.aesKey, appId: BRAND.appid });

  beforeAll(async () => {
    h = await startHarness({
      WECHAT_OA_TOKEN: ENV_TOKEN,
      WECHAT_OA_AES_KEY: ENV_AES_KEY,
      WECHAT_OA_DOMAIN_VERIFY: 'envVerify7',
    });
    h.fake.addApp({ appid: BRAND.appid, secret: BRAND.secret, kind: 'official_account' });
    await admin().post('/admin/accounts').send(BRAND).expect(201);
  });

  afterAll(async () => {
    await h.close();
  });

  const server = (app: NestFastifyApplication = h.app) => app.getHttpServer();
  const admin = (app?: NestFastifyApplication) => ({
    post: (path: string) => request(server(app)).post(path).set('X-Admin-Key', ADMIN_KEY),
    get: (path: string) => request(server(app)).get(path).set('X-Admin-Key', ADMIN_KEY),
    put: (path: string) => request(server(app)).put(path).set('X-Admin-Key', ADMIN_KEY),
  });
  const deliver = (
    path: string,
    signer: WeChatSigner,
    xml: string,
    mode: WebhookMode = 'plain',
    app?: NestFastifyApplication,
  ) => {
    const signed = signer.sign(xml, mode);
    return request(server(app)).post(path).query(signed.query).set('Content-Type', 'text/xml').send(signed.body);
  };

  it("should answer WeChat's URL check of each account with its own Token, and refuse the other's", async () => {
    const envCheck = envSigner.verification('env-echo');
    const brandCheck = brandSigner.verification('brand-echo');
    expect((await request(server()).get('/wechat/webhook').query(envCheck).expect(200)).text).toBe('env-echo');
    expect((await request(server()).get(`/wechat/webhook/${OA_APP.appid}`).query(envCheck).expect(200)).text).toBe(
      'env-echo',
    );
    expect((await request(server()).get(`/wechat/webhook/${BRAND.appid}`).query(brandCheck).expect(200)).text).toBe(
      'brand-echo',
    );
    const refused = await request(server()).get(`/wechat/webhook/${BRAND.appid}`).query(envCheck).expect(401);
    expect(refused.body.error).toBe('invalid_signature');
    await request(server()).get('/wechat/webhook').query(brandCheck).expect(401);
  });

  it("should greet a follower of each account with that account's text, in safe mode with that account's key", async () => {
    const toEnv = wechatMessages.event('subscribe', {}, { from: 'o-env-fan', to: 'gh_env' });
    const toBrand = wechatMessages.event('subscribe', {}, { from: 'o-brand-fan', to: 'gh_brand' });
    const envReply = await deliver('/wechat/webhook', envSigner, toEnv, 'safe').expect(200);
    const brandReply = await deliver(`/wechat/webhook/${BRAND.appid}`, brandSigner, toBrand, 'safe').expect(200);
    expect(parseXml(envSigner.openReply(envReply.text)).Content).toBe('感谢关注！');
    expect(parseXml(brandSigner.openReply(brandReply.text)).Content).toBe(BRAND.welcomeText);
    expect(() => envSigner.openReply(brandReply.text)).toThrow();
    const identities = await h.query(
      `SELECT appid, openid, subscribed FROM wechat_identities WHERE openid IN ('o-env-fan', 'o-brand-fan')
       ORDER BY openid`,
    );
    expect(identities).toEqual([
      { appid: BRAND.appid, openid: 'o-brand-fan', subscribed: true },
      { appid: OA_APP.appid, openid: 'o-env-fan', subscribed: true },
    ]);
  });

  it("should refuse a delivery signed or sealed with another account's keys, and record nothing", async () => {
    const xml = wechatMessages.text('crossed', { to: 'gh_brand' });
    const plain = await deliver(`/wechat/webhook/${BRAND.appid}`, envSigner, xml).expect(401);
    expect(plain.body.error).toBe('invalid_signature');
    await deliver('/wechat/webhook', brandSigner, xml, 'safe').expect(401);
    const sealedForEnv = new WeChatSigner({ token: BRAND.token, aesKey: ENV_AES_KEY, appId: OA_APP.appid });
    const opened = await deliver(`/wechat/webhook/${BRAND.appid}`, sealedForEnv, xml, 'safe').expect(400);
    expect(opened.body.error).toBe('bad_request');
    expect(await h.query(`SELECT 1 FROM wechat_inbound_messages WHERE fields->>'Content' = 'crossed'`)).toEqual([]);
  });

  it('should answer 404 for an appid that is no official account here, GET and POST', async () => {
    const xml = wechatMessages.text('lost');
    for (const appid of ['wxunknown00000001', 'wxd0e1m2o3m4p5p6g7']) {
      const post = await deliver(`/wechat/webhook/${appid}`, envSigner, xml).expect(404);
      expect(post.body).toEqual({ statusCode: 404, error: 'not_found', message: expect.stringContaining(appid) });
      await request(server()).get(`/wechat/webhook/${appid}`).query(envSigner.verification('x')).expect(404);
    }
  });

  it("should keep each account's auto-reply rules to it", async () => {
    const rule = { match: 'exact', keyword: '营业时间', reply: { type: 'text', content: '品牌A 9:00-21:00' } };
    const created = await admin().post(`/admin/auto-replies?appid=${BRAND.appid}`).send(rule).expect(201);
    const brandAnswer = await deliver(
      `/wechat/webhook/${BRAND.appid}`,
      brandSigner,
      wechatMessages.text('营业时间', { to: 'gh_brand' }),
    ).expect(200);
    expect(parseXml(brandAnswer.text).Content).toBe('品牌A 9:00-21:00');
    const envAnswer = await deliver('/wechat/webhook', envSigner, wechatMessages.text('营业时间')).expect(200);
    expect(envAnswer.text).toBe('success');
    expect((await admin().get(`/admin/auto-replies?appid=${BRAND.appid}`).expect(200)).body).toHaveLength(1);
    expect((await admin().get('/admin/auto-replies').expect(200)).body).toEqual([]);
    await admin().get(`/admin/auto-replies/${created.body.id}`).expect(404);
    await admin().get(`/admin/auto-replies/${created.body.id}?appid=${BRAND.appid}`).expect(200);
    const unknown = await admin().get('/admin/auto-replies?appid=wxunknown00000001').expect(404);
    expect(unknown.body.error).toBe('not_found');
    const malformed = await admin().get('/admin/auto-replies?appid=brand').expect(400);
    expect(malformed.body.message).toContain('appid');
  });

  it("should set each account's menu with its own access token", async () => {
    const menu = { button: [{ type: 'click', name: '营业时间', key: 'HOURS' }] };
    await admin().put(`/admin/menu?appid=${BRAND.appid}`).send(menu).expect(200);
    expect((await admin().get(`/admin/menu?appid=${BRAND.appid}`).expect(200)).body).toMatchObject(menu);
    await admin().get('/admin/menu').expect(404);
  });

  it("should serve every official account's MP_verify file, and no other", async () => {
    expect((await request(server()).get('/MP_verify_envVerify7.txt').expect(200)).text).toBe('envVerify7');
    expect((await request(server()).get(`/MP_verify_${BRAND.domainVerify}.txt`).expect(200)).text).toBe(
      BRAND.domainVerify,
    );
    await request(server()).get('/MP_verify_brandVerify43.txt').expect(404);
  });

  it('should answer on a second instance for an account created on the first, within a second', async () => {
    const second = await h.startInstance();
    const late = { ...BRAND, appid: 'wxbrand0000000b02', token: 'brandToken3', aesKey: undefined, name: '品牌B' };
    const lateSigner = new WeChatSigner({ token: late.token });
    await admin().post('/admin/accounts').send(late).expect(201);
    const started = Date.now();
    for (;;) {
      const res = await request(server(second))
        .get(`/wechat/webhook/${late.appid}`)
        .query(lateSigner.verification('late-echo'));
      if (res.status === 200) {
        expect(res.text).toBe('late-echo');
        break;
      }
      expect(res.status).toBe(404);
      expect(Date.now() - started).toBeLessThan(1000);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const answer = await deliver(
      `/wechat/webhook/${late.appid}`,
      lateSigner,
      wechatMessages.event('subscribe', {}, { from: 'o-late-fan', to: 'gh_late' }),
      'plain',
      second,
    ).expect(200);
    expect(parseXml(answer.text).Content).toBe(late.welcomeText);
  });
});
