import { DEMO_APPS, FakeWeChat } from 'test/fake-wechat/fake-wechat.server';
import { prepareLoginCode } from 'test/fake-wechat/routes/mini-program.routes';

const [OA, MP] = DEMO_APPS;

/** The emulator must behave like WeChat's documentation says, not like our service would like. */
describe(FakeWeChat.name, () => {
  let sut: FakeWeChat;
  let url: string;

  beforeEach(async () => {
    sut = new FakeWeChat();
    url = await sut.start();
  });

  afterEach(async () => {
    await sut.stop();
  });

  const get = async (path: string, query: Record<string, string>) =>
    (await fetch(`${url}${path}?${new URLSearchParams(query)}`)).json();
  const post = async (path: string, body: unknown, query: Record<string, string> = {}) =>
    (
      await fetch(`${url}${path}?${new URLSearchParams(query)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
    ).json();
  const stable = (force = false, secret = OA.secret) =>
    post('/cgi-bin/stable_token', { grant_type: 'client_credential', appid: OA.appid, secret, force_refresh: force });
  const tokenWorks = async (token: string) =>
    (await post('/wxa/business/getuserphonenumber', { code: 'none' }, { access_token: token })).errcode !== 40001;

  it('should invalidate the previous /cgi-bin/token token on every re-issue', async () => {
    const query = { grant_type: 'client_credential', appid: OA.appid, secret: OA.secret };
    const first = await get('/cgi-bin/token', query);
    const second = await get('/cgi-bin/token', query);
    expect(first).toEqual({ access_token: expect.any(String), expires_in: 7200 });
    expect(second.access_token).not.toBe(first.access_token);
    expect(await tokenWorks(first.access_token)).toBe(false);
    expect(await tokenWorks(second.access_token)).toBe(true);
  });

  it('should return the current stable token in normal mode and a new one in its last five minutes', async () => {
    const first = await stable();
    const again = await stable();
    expect(again.access_token).toBe(first.access_token);
    expect(again.expires_in).toBeLessThanOrEqual(7200);
    sut.clockOffsetMs = (7200 - 240) * 1000;
    const next = await stable();
    expect(next.access_token).not.toBe(first.access_token);
    expect(await tokenWorks(first.access_token)).toBe(true);
  });

  it('should replace the stable token on force_refresh, 30 s apart and 20 a day at most', async () => {
    // The quota's day is Beijing's: the test's ten minutes run from that day's noon, never across its midnight.
    const day = 24 * 3600_000;
    const beijing = 8 * 3600_000;
    sut.clockOffsetMs = Math.floor((Date.now() + beijing) / day) * day - beijing + day / 2 - Date.now();
    const first = await stable();
    const forced = await stable(true);
    expect(forced.access_token).not.toBe(first.access_token);
    expect(await tokenWorks(first.access_token)).toBe(false);
    expect((await stable(true)).access_token).toBe(forced.access_token);
    for (let i = 0; i < 19; i += 1) {
      sut.clockOffsetMs += 31_000;
      await stable(true);
    }
    sut.clockOffsetMs += 31_000;
    expect(await stable(true)).toMatchObject({ errcode: 45009 });
  });

  it('should answer WeChat errors for bad credentials and a missing token', async () => {
    expect(await stable(false, 'wrong')).toMatchObject({ errcode: 40125 });
    expect(
      await post('/cgi-bin/stable_token', { grant_type: 'client_credential', appid: 'wx000000', secret: 'x' }),
    ).toMatchObject({ errcode: 40013 });
    expect(await post('/wxa/business/getuserphonenumber', { code: 'x' })).toMatchObject({ errcode: 41001 });
  });

  it('should accept a wx.login code once, within five minutes, for its own app', async () => {
    const query = (code: string, appid = MP.appid, secret = MP.secret) => ({
      appid,
      secret,
      js_code: code,
      grant_type: 'authorization_code',
    });
    const code = prepareLoginCode(sut, { openid: 'o-1', unionid: 'u-1' });
    const ok = await get('/sns/jscode2session', query(code));
    expect(ok).toEqual({ openid: 'o-1', unionid: 'u-1', session_key: expect.any(String) });
    expect(await get('/sns/jscode2session', query(code))).toMatchObject({ errcode: 40163 });
    const late = prepareLoginCode(sut);
    sut.clockOffsetMs = 301_000;
    expect(await get('/sns/jscode2session', query(late))).toMatchObject({ errcode: 40029 });
    expect(await get('/sns/jscode2session', query(prepareLoginCode(sut), MP.appid, 'bad'))).toMatchObject({
      errcode: 40125,
    });
  });

  it('should fail loudly on a route it does not know', async () => {
    const error = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const res = await fetch(`${url}/cgi-bin/unknown`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ errcode: 99999 });
    expect(error).toHaveBeenCalled();
    error.mockRestore();
  });

  it('should inject faults for the next calls of a path only', async () => {
    sut.inject('/cgi-bin/stable_token', { errcode: -1 }, 2);
    expect(await stable()).toMatchObject({ errcode: -1 });
    expect(await stable()).toMatchObject({ errcode: -1 });
    expect(await stable()).toMatchObject({ access_token: expect.any(String) });
    expect(sut.callCount('/cgi-bin/stable_token')).toBe(3);
  });
});
