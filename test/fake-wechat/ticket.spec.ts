import { jssdkSignature } from 'src/wechat/crypto/jssdk-signature';
import { DEMO_APPS, FakeApp, FakeWeChat } from 'test/fake-wechat/fake-wechat.server';
import { isCurrentTicket, registerTicketRoutes } from 'test/fake-wechat/routes/ticket.routes';

const [OA, MP] = DEMO_APPS;
const OA2: FakeApp = {
  appid: 'wxd0e1m2o3s4e5c6o7',
  secret: 'second-official-account-secret',
  kind: 'official_account',
};
const GETTICKET = '/cgi-bin/ticket/getticket';

interface TicketAnswer {
  errcode: number;
  errmsg: string;
  ticket?: string;
  expires_in?: number;
}

/** getticket as WeChat documents it: per app, 7200 s on its own clock, untouched by a new access token. */
describe(registerTicketRoutes.name, () => {
  let sut: FakeWeChat;
  let url: string;

  beforeEach(async () => {
    sut = new FakeWeChat();
    url = await sut.start();
  });

  afterEach(async () => {
    await sut.stop();
  });

  const request = async (method: string, path: string, query: Record<string, string> = {}, body?: unknown) => {
    const res = await fetch(`${url}${path}?${new URLSearchParams(query)}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (/^[{[]/.test(text) ? JSON.parse(text) : { text }) as Record<string, unknown> };
  };
  const control = async (path: string, body: unknown) => (await request('POST', `/__control/${path}`, {}, body)).body;
  const token = async (app: FakeApp = OA, force = false): Promise<string> => {
    const { body } = await request(
      'POST',
      '/cgi-bin/stable_token',
      {},
      {
        grant_type: 'client_credential',
        appid: app.appid,
        secret: app.secret,
        force_refresh: force,
      },
    );
    expect(body.access_token).toEqual(expect.any(String));
    return body.access_token as string;
  };
  const getticket = async (accessToken: string, type = 'jsapi'): Promise<TicketAnswer> =>
    (await request('GET', GETTICKET, { access_token: accessToken, type })).body as unknown as TicketAnswer;
  const advance = (seconds: number): void => {
    sut.clockOffsetMs += seconds * 1000;
  };

  it('should answer the documented shape and the same ticket while it lives, counting down', async () => {
    const accessToken = await token();
    const first = await getticket(accessToken);
    expect(first).toEqual({
      errcode: 0,
      errmsg: 'ok',
      ticket: expect.stringMatching(/^[\w-]{80,}$/),
      expires_in: 7200,
    });
    advance(100);
    expect(await getticket(accessToken)).toEqual({ ...first, expires_in: 7100 });
    expect(isCurrentTicket(sut, OA.appid, first.ticket!)).toBe(true);
    expect(sut.callCount(GETTICKET)).toBe(2);
  });

  it('should issue a new ticket once 7200 s have passed on the moved clock', async () => {
    const first = await getticket(await token());
    advance(7199);
    // The access token has expired by now too; a fresh one must still get the same, last-second ticket.
    expect(await getticket(await token())).toMatchObject({ ticket: first.ticket, expires_in: 1 });
    advance(1);
    const next = await getticket(await token());
    expect(next).toMatchObject({ errcode: 0, expires_in: 7200 });
    expect(next.ticket).not.toBe(first.ticket);
    expect(isCurrentTicket(sut, OA.appid, first.ticket!)).toBe(false);
    expect(isCurrentTicket(sut, OA.appid, next.ticket!)).toBe(true);
  });

  it('should keep the ticket when the access token is replaced, and refuse the replaced token', async () => {
    const oldToken = await token();
    const first = await getticket(oldToken);
    const newToken = await token(OA, true);
    expect(newToken).not.toBe(oldToken);
    expect(await getticket(newToken)).toMatchObject({ errcode: 0, ticket: first.ticket });
    expect(await getticket(oldToken)).toMatchObject({ errcode: 40001 });
    expect((await control('invalidate-token', { appid: OA.appid })).invalidated).toBe(1);
    expect(await getticket(newToken)).toMatchObject({ errcode: 40001 });
    expect(await getticket(await token())).toMatchObject({ errcode: 0, ticket: first.ticket });
  });

  it('should refuse an expired or missing access token as the other token-bearing routes do', async () => {
    const accessToken = await token();
    advance(7200);
    expect(await getticket(accessToken)).toMatchObject({ errcode: 42001 });
    expect((await request('GET', GETTICKET, { type: 'jsapi' })).body).toMatchObject({ errcode: 41001 });
    expect(await getticket('not-a-token')).toMatchObject({ errcode: 40001 });
  });

  it('should refuse a missing or unknown type with 40097 and a mini-program token with 48001', async () => {
    const accessToken = await token();
    expect((await request('GET', GETTICKET, { access_token: accessToken })).body).toMatchObject({ errcode: 40097 });
    expect(await getticket(accessToken, 'jsapi ')).toMatchObject({ errcode: 40097 });
    expect(await getticket(accessToken, '1')).toMatchObject({ errcode: 40097 });
    expect(await getticket(await token(MP))).toMatchObject({ errcode: 48001 });
  });

  it('should keep the jsapi and wx_card tickets apart', async () => {
    const accessToken = await token();
    const jsapi = await getticket(accessToken);
    const card = await getticket(accessToken, 'wx_card');
    expect(card).toMatchObject({ errcode: 0, expires_in: 7200 });
    expect(card.ticket).not.toBe(jsapi.ticket);
    expect(await control('invalidate-ticket', { appid: OA.appid, type: 'wx_card' })).toEqual({ invalidated: 1 });
    expect((await getticket(accessToken)).ticket).toBe(jsapi.ticket);
    expect((await getticket(accessToken, 'wx_card')).ticket).not.toBe(card.ticket);
  });

  it('should make invalidate-ticket end the current ticket, as another system refreshing it would', async () => {
    const accessToken = await token();
    const first = await getticket(accessToken);
    const listed = await request('GET', '/__control/tickets', { appid: OA.appid });
    expect(listed.body).toEqual({
      appid: OA.appid,
      tickets: [{ type: 'jsapi', ticket: first.ticket, expiresIn: 7200 }],
    });
    expect(await control('invalidate-ticket', { appid: OA.appid })).toEqual({ invalidated: 1 });
    expect((await request('GET', '/__control/tickets', { appid: OA.appid })).body.tickets).toEqual([]);
    expect(isCurrentTicket(sut, OA.appid, first.ticket!)).toBe(false);
    const next = await getticket(accessToken);
    expect(next.ticket).not.toBe(first.ticket);
    expect(isCurrentTicket(sut, OA.appid, next.ticket!)).toBe(true);
    expect(await control('invalidate-ticket', { appid: OA.appid, type: 'jsapi' })).toEqual({ invalidated: 1 });
    expect(await control('invalidate-ticket', { appid: OA.appid })).toEqual({ invalidated: 0 });
    expect((await request('POST', '/__control/invalidate-ticket', {}, {})).status).toBe(400);
    expect((await request('POST', '/__control/invalidate-ticket', {}, { appid: OA.appid, type: 'x' })).status).toBe(
      400,
    );
  });

  it('should serve two official accounts with tickets of their own, one added at run time', async () => {
    const added = await request('POST', '/__control/apps', {}, OA2);
    expect(added).toEqual({ status: 201, body: { app: { appid: OA2.appid, kind: OA2.kind }, replaced: false } });
    expect((await request('GET', '/__control/apps')).body.apps).toContainEqual({ appid: OA2.appid, kind: OA2.kind });
    const [tokenA, tokenB] = [await token(OA), await token(OA2)];
    const [ticketA, ticketB] = [await getticket(tokenA), await getticket(tokenB)];
    expect(ticketA.ticket).not.toBe(ticketB.ticket);
    expect(isCurrentTicket(sut, OA.appid, ticketB.ticket!)).toBe(false);
    expect(isCurrentTicket(sut, OA2.appid, ticketB.ticket!)).toBe(true);
    await control('invalidate-ticket', { appid: OA2.appid });
    expect((await getticket(tokenA)).ticket).toBe(ticketA.ticket);
    expect((await getticket(tokenB)).ticket).not.toBe(ticketB.ticket);
  });

  it('should refuse a malformed app and replace an app registered again', async () => {
    const post = (body: unknown) => request('POST', '/__control/apps', {}, body);
    expect((await post({ ...OA2, appid: 'nope' })).status).toBe(400);
    expect((await post({ ...OA2, secret: undefined })).status).toBe(400);
    expect((await post({ ...OA2, kind: 'service' })).status).toBe(400);
    expect((await post({ ...OA, secret: 'rotated' })).body).toMatchObject({ replaced: true });
    const refused = await request(
      'POST',
      '/cgi-bin/stable_token',
      {},
      {
        grant_type: 'client_credential',
        appid: OA.appid,
        secret: OA.secret,
      },
    );
    expect(refused.body).toMatchObject({ errcode: 40125 });
  });

  it('should apply injected faults to getticket and count its calls', async () => {
    const accessToken = await token();
    await control('fault', { path: GETTICKET, errcode: -1, times: 1 });
    expect(await getticket(accessToken)).toMatchObject({ errcode: -1 });
    await control('fault', { path: GETTICKET, httpStatus: 503 });
    expect((await request('GET', GETTICKET, { access_token: accessToken, type: 'jsapi' })).status).toBe(503);
    expect(await getticket(accessToken)).toMatchObject({ errcode: 0 });
    expect((await request('GET', '/__control/calls')).body.counts).toMatchObject({ [GETTICKET]: 3 });
  });

  it('should verify a wx.config signature against the current ticket only', async () => {
    const accessToken = await token();
    const { ticket } = await getticket(accessToken);
    const page = 'https://h5.example.com/shop?a=1&b=%E4%BD%A0';
    const config = { appId: OA.appid, timestamp: '1700000000', nonceStr: 'n0nce', url: `${page}#top` };
    const signature = jssdkSignature({
      jsapiTicket: ticket!,
      nonceStr: config.nonceStr,
      timestamp: config.timestamp,
      url: page,
    });
    expect(await control('jssdk/verify', { ...config, signature })).toEqual({ ok: true });
    expect(await control('jssdk/verify', { ...config, url: `${page}&c`, signature })).toMatchObject({ ok: false });
    await control('invalidate-ticket', { appid: OA.appid });
    expect(await control('jssdk/verify', { ...config, signature })).toMatchObject({ ok: false });
    expect((await request('POST', '/__control/jssdk/verify', {}, { appId: OA.appid })).status).toBe(400);
  });
});
