import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { wechatSignature } from 'src/wechat/crypto/signature';
import { parseXml } from 'src/wechat/xml/xml.codec';
import { DEMO_APPS, FakeWeChat } from 'test/fake-wechat/fake-wechat.server';
import { prepareScan, registerQrCodeRoutes } from 'test/fake-wechat/routes/qrcode.routes';

const [OA] = DEMO_APPS;
const TOKEN = 'emulatorToken1';

/** /cgi-bin/qrcode/create as WeChat documents it, and the scan control delivering events as WeChat signs them. */
describe(registerQrCodeRoutes.name, () => {
  let sut: FakeWeChat;
  let url: string;
  let server: Server;
  let serverUrl: string;
  let received: { query: URLSearchParams; body: string }[];

  beforeEach(async () => {
    sut = new FakeWeChat();
    url = await sut.start();
    received = [];
    // The account's server: records what WeChat sent and answers a passive text reply.
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        received.push({ query: new URL(req.url ?? '/', 'http://x').searchParams, body });
        res.writeHead(200, { 'content-type': 'application/xml' }).end('<xml><Content><![CDATA[收到]]></Content></xml>');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/wechat/webhook`;
  });

  afterEach(async () => {
    await sut.stop();
    await new Promise((resolve) => server.close(resolve));
  });

  const post = async (path: string, body: unknown, query: Record<string, string> = {}) => {
    const res = await fetch(`${url}${path}?${new URLSearchParams(query)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const token = async () =>
    (await post('/cgi-bin/stable_token', { grant_type: 'client_credential', appid: OA.appid, secret: OA.secret })).body
      .access_token as string;
  const create = async (body: unknown, accessToken?: string) =>
    (await post('/cgi-bin/qrcode/create', body, { access_token: accessToken ?? (await token()) })).body;

  it('should issue a temporary QR_STR_SCENE code with its ticket, expire_seconds and weixin.qq.com url', async () => {
    const answer = await create({
      expire_seconds: 300,
      action_name: 'QR_STR_SCENE',
      action_info: { scene: { scene_str: 'login_abc' } },
    });
    expect(answer).toEqual({
      ticket: expect.any(String),
      expire_seconds: 300,
      url: expect.stringMatching(/^http:\/\/weixin\.qq\.com\/q\/[0-9A-Za-z]{22}$/),
    });
    expect(Buffer.from(answer.ticket as string, 'base64').toString('latin1')).toContain(answer.url as string);
  });

  it("should follow WeChat's rules: 60 s by default, 30 days at most, no expiry for permanent codes", async () => {
    const accessToken = await token();
    const scene = { scene: { scene_str: 's' } };
    expect((await create({ action_name: 'QR_STR_SCENE', action_info: scene }, accessToken)).expire_seconds).toBe(60);
    expect(
      (await create({ expire_seconds: 9_999_999, action_name: 'QR_STR_SCENE', action_info: scene }, accessToken))
        .expire_seconds,
    ).toBe(2_592_000);
    const permanent = await create({ action_name: 'QR_LIMIT_STR_SCENE', action_info: scene }, accessToken);
    expect(permanent).not.toHaveProperty('expire_seconds');
    expect(permanent.ticket).toEqual(expect.any(String));
  });

  it('should refuse bad arguments (40097) and a missing or stale token (41001, 40001)', async () => {
    const accessToken = await token();
    const long = { scene: { scene_str: 'x'.repeat(65) } };
    expect(await create({ action_name: 'QR_STR_SCENE', action_info: long }, accessToken)).toMatchObject({
      errcode: 40097,
    });
    expect(await create({ action_name: 'QR_NOPE', action_info: long }, accessToken)).toMatchObject({ errcode: 40097 });
    expect((await post('/cgi-bin/qrcode/create', {})).body).toMatchObject({ errcode: 41001 });
    expect(await create({ action_name: 'QR_SCENE', action_info: { scene: { scene_id: 1 } } }, 'stale')).toMatchObject({
      errcode: 40001,
    });
  });

  it('should deliver a first scan as subscribe with qrscene_, a later one as SCAN, signed with the Token', async () => {
    const code = await create({
      expire_seconds: 300,
      action_name: 'QR_STR_SCENE',
      action_info: { scene: { scene_str: 'login_0001' } },
    });
    await post('/__control/server', { appid: OA.appid, url: serverUrl, token: TOKEN, mode: 'plain' });
    const first = await post('/__control/scan', { ticket: code.ticket, openid: 'o-phone' });
    expect(first.body).toMatchObject({ event: 'subscribe', scene: 'login_0001', status: 200 });
    expect(first.body.reply).toContain('收到');
    const later = await post('/__control/scan', { latest: true, openid: 'o-phone' });
    expect(later.body).toMatchObject({ event: 'SCAN' });
    const [followed, scanned] = received.map((each) => ({ ...each, xml: parseXml(each.body) }));
    expect(followed.xml).toMatchObject({
      FromUserName: 'o-phone',
      MsgType: 'event',
      Event: 'subscribe',
      EventKey: 'qrscene_login_0001',
      Ticket: code.ticket,
    });
    expect(scanned.xml).toMatchObject({ Event: 'SCAN', EventKey: 'login_0001' });
    for (const { query } of received) {
      expect(query.get('signature')).toBe(wechatSignature([TOKEN, query.get('timestamp')!, query.get('nonce')!]));
      expect(query.get('openid')).toBe('o-phone');
    }
  });

  it('should send nothing for an expired code (WeChat shows 二维码已过期) or an unknown ticket', async () => {
    const code = await create({
      expire_seconds: 60,
      action_name: 'QR_STR_SCENE',
      action_info: { scene: { scene_str: 'login_0002' } },
    });
    await post('/__control/server', { appid: OA.appid, url: serverUrl, token: TOKEN });
    sut.clockOffsetMs = 61_000;
    expect((await post('/__control/scan', { ticket: code.ticket })).status).toBe(410);
    expect((await post('/__control/scan', { ticket: 'nope' })).status).toBe(404);
    expect(received).toEqual([]);
  });

  it('should prepare the event of a scan without sending it, for a caller that delivers it itself', async () => {
    const code = await create({
      expire_seconds: 60,
      action_name: 'QR_STR_SCENE',
      action_info: { scene: { scene_str: 'login_0003' } },
    });
    const server = { url: 'http://unused.invalid/', token: TOKEN, originalId: 'gh_own' };
    const first = prepareScan(sut, { url: code.url as string, openid: 'o-phone', server });
    const second = prepareScan(sut, { url: code.url as string, openid: 'o-phone', server });
    expect(first).toMatchObject({ ok: true, event: 'subscribe', scene: 'login_0003', openid: 'o-phone' });
    expect(second).toMatchObject({ ok: true, event: 'SCAN' });
    const xml = parseXml(first.ok ? first.xml : '') as Record<string, unknown>;
    expect(xml).toMatchObject({ ToUserName: 'gh_own', FromUserName: 'o-phone', EventKey: 'qrscene_login_0003' });
    expect(Number(xml.CreateTime)).toBe(first.ok ? first.createTime : NaN);
    sut.clockOffsetMs = 61_000;
    expect(prepareScan(sut, { url: code.url as string, server })).toMatchObject({ ok: false, status: 410 });
    expect(received).toEqual([]);
  });
});
