import request from 'supertest';
import { ADMIN_KEY, Harness, OA_APP, startHarness } from 'test/support/create-test-app';
import { WebhookMode, WeChatSigner, wechatMessages } from 'test/support/wechat-signer';
import { parseXml } from 'src/wechat/xml/xml.codec';

const TOKEN = 'pgliteToken9';
const AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';

describe('WebhookModule on embedded PGlite (e2e)', () => {
  let h: Harness;
  const signer = new WeChatSigner({ token: TOKEN, aesKey: AES_KEY, appId: OA_APP.appid });

  beforeAll(async () => {
    h = await startHarness({
      DATABASE_URL: undefined,
      PGLITE_DIR: 'memory://',
      WECHAT_OA_TOKEN: TOKEN,
      WECHAT_OA_AES_KEY: AES_KEY,
    });
  });

  afterAll(async () => {
    await h.close();
  });

  const send = (xml: string, mode: WebhookMode = 'plain') => {
    const signed = signer.sign(xml, mode);
    return request(h.app.getHttpServer())
      .post('/wechat/webhook')
      .query(signed.query)
      .set('Content-Type', 'text/xml')
      .send(signed.body);
  };

  it('should reply by rule, once, to simultaneous deliveries of one message', async () => {
    await request(h.app.getHttpServer())
      .post('/admin/auto-replies')
      .set('X-Admin-Key', ADMIN_KEY)
      .send({ match: 'contains', keyword: '你好', reply: { type: 'text', content: '你好呀' } })
      .expect(201);
    const xml = wechatMessages.text('你好，在吗');
    const answers = await Promise.all(Array.from({ length: 5 }, () => send(xml)));
    expect(answers.map((res) => res.status)).toEqual([200, 200, 200, 200, 200]);
    expect(new Set(answers.map((res) => res.text)).size).toBe(1);
    expect(parseXml(answers[0].text).Content).toBe('你好呀');
  });

  it('should greet a follower in safe mode and answer its retry the same', async () => {
    const xml = wechatMessages.event('subscribe', {}, { from: 'o-pglite-fan' });
    const first = await send(xml, 'safe').expect(200);
    const second = await send(xml, 'safe').expect(200);
    const opened = signer.openReply(first.text);
    expect(parseXml(opened)).toMatchObject({ ToUserName: 'o-pglite-fan', Content: '感谢关注！' });
    expect(signer.openReply(second.text)).toBe(opened);
  });
});
