import { DEMO_APPS, FakeWeChat } from 'test/fake-wechat/fake-wechat.server';
import {
  mintOAuthCode,
  REFRESH_TOKEN_TTL_MS,
  setAuthorizeMode,
  setOAuthDomain,
  setOAuthUser,
} from 'test/fake-wechat/routes/oauth.routes';

const OA = DEMO_APPS[0];
const MP = DEMO_APPS[1];
const CALLBACK = 'https://wx.example.com/oauth/callback';

/** The emulator's OAuth side must behave like WeChat's documented API, or the OAuth tests prove nothing. */
describe('FakeWeChat OAuth routes (e2e)', () => {
  let fake: FakeWeChat;

  beforeAll(async () => {
    fake = new FakeWeChat();
    await fake.start();
  });

  afterAll(async () => {
    await fake.stop();
  });

  beforeEach(() => {
    fake.clockOffsetMs = 0;
    setAuthorizeMode(fake, 'page');
    setOAuthDomain(fake, OA.appid, null);
  });

  const api = async (path: string, query: Record<string, string>) => {
    const res = await fetch(`${fake.url}${path}?${new URLSearchParams(query).toString()}`);
    return (await res.json()) as Record<string, unknown>;
  };
  const exchange = (code: string, secret = OA.secret) =>
    api('/sns/oauth2/access_token', { appid: OA.appid, secret, code, grant_type: 'authorization_code' });
  const authorizeUrl = (params: Record<string, string>) =>
    `${fake.url}/connect/oauth2/authorize?${new URLSearchParams({
      appid: OA.appid,
      redirect_uri: CALLBACK,
      response_type: 'code',
      scope: 'snsapi_userinfo',
      state: 'abc123',
      ...params,
    }).toString()}#wechat_redirect`;

  describe('authorize page', () => {
    it('should show a consent page with 允许 and 拒绝 for snsapi_userinfo', async () => {
      setOAuthUser(fake, { nickname: '页面用户' });
      const res = await fetch(authorizeUrl({}), { redirect: 'manual' });
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toContain('>允许</button>');
      expect(html).toContain('>拒绝</button>');
      expect(html).toContain('页面用户');
    });

    it('should send snsapi_base straight back with a code and the state (silent authorization)', async () => {
      const res = await fetch(authorizeUrl({ scope: 'snsapi_base' }), { redirect: 'manual' });
      expect(res.status).toBe(302);
      const back = new URL(res.headers.get('location') ?? '');
      expect(`${back.origin}${back.pathname}`).toBe(CALLBACK);
      expect(back.searchParams.get('code')).toMatch(/^[0-9a-f]{32}$/);
      expect(back.searchParams.get('state')).toBe('abc123');
    });

    it.each([
      ['no appid', { appid: '' }, '10012'],
      ['an unknown appid', { appid: 'wx0000000000000000' }, '10002'],
      ["a mini-program's appid", { appid: MP.appid }, '10002'],
      ['no redirect_uri', { redirect_uri: '' }, '10011'],
      ['a redirect_uri that is not http(s)', { redirect_uri: 'javascript:alert(1)' }, '10003'],
      ['a response_type other than code', { response_type: 'token' }, '10001'],
      ['no scope', { scope: '' }, '10010'],
      ['an unknown scope', { scope: 'snsapi_login' }, '10005'],
      ['a state with other characters', { state: 'a-b' }, '10013'],
    ])('should show an error page for %s', async (_label, params, code) => {
      const res = await fetch(authorizeUrl(params), { redirect: 'manual' });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-wechat-error')).toBe(code);
    });

    it('should refuse a redirect_uri outside the 网页授权域名', async () => {
      setOAuthDomain(fake, OA.appid, 'wx.example.com');
      const ok = await fetch(authorizeUrl({ scope: 'snsapi_base' }), { redirect: 'manual' });
      expect(ok.status).toBe(302);
      const res = await fetch(authorizeUrl({ redirect_uri: 'https://evil.example/cb' }), { redirect: 'manual' });
      expect(res.headers.get('x-wechat-error')).toBe('10003');
    });

    it('should go back with a code on 允许 and without one on 拒绝, and require #wechat_redirect', async () => {
      const form = (action: string, fragment = 'wechat_redirect') =>
        fetch(`${fake.url}/connect/oauth2/authorize/confirm`, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            appid: OA.appid,
            redirect_uri: CALLBACK,
            scope: 'snsapi_userinfo',
            state: 'xyz',
            fragment,
            action,
          }).toString(),
        });
      const allowed = new URL((await form('allow')).headers.get('location') ?? '');
      expect(allowed.searchParams.get('code')).toBeTruthy();
      const denied = new URL((await form('deny')).headers.get('location') ?? '');
      expect(denied.searchParams.has('code')).toBe(false);
      expect(denied.searchParams.get('state')).toBe('xyz');
      const noFragment = await form('allow', '');
      expect(noFragment.status).toBe(200);
      expect(noFragment.headers.get('x-wechat-error')).toBeTruthy();
    });
  });

  describe('/sns/oauth2/access_token', () => {
    it('should exchange a code once (40163 after) for a token with openid, scope and unionid when set', async () => {
      const code = mintOAuthCode(fake, { appid: OA.appid, user: { openid: 'o-emu-1', unionid: 'u-emu-1' } });
      const token = await exchange(code);
      expect(token).toEqual({
        access_token: expect.any(String),
        expires_in: 7200,
        refresh_token: expect.any(String),
        openid: 'o-emu-1',
        scope: 'snsapi_userinfo',
        unionid: 'u-emu-1',
      });
      expect((await exchange(code)).errcode).toBe(40163);
    });

    it('should answer 40029 for an unknown code and for a code older than 5 minutes', async () => {
      expect((await exchange('nope')).errcode).toBe(40029);
      const code = mintOAuthCode(fake, { appid: OA.appid });
      fake.clockOffsetMs = 5 * 60_000 + 1;
      expect((await exchange(code)).errcode).toBe(40029);
    });

    it('should answer 40125 for a wrong secret', async () => {
      expect((await exchange(mintOAuthCode(fake, { appid: OA.appid }), 'wrong')).errcode).toBe(40125);
    });

    it('should mark a snapshot-page visitor with is_snapshotuser and a base scope', async () => {
      const token = await exchange(mintOAuthCode(fake, { appid: OA.appid, snapshot: true }));
      expect(token).toMatchObject({ is_snapshotuser: 1, scope: 'snsapi_base' });
      expect(token.unionid).toBeUndefined();
    });
  });

  describe('/sns/userinfo, /sns/auth and /sns/oauth2/refresh_token', () => {
    it('should give the profile for snsapi_userinfo and 48001 for snsapi_base', async () => {
      const user = { openid: 'o-emu-2', nickname: '资料' };
      const full = await exchange(mintOAuthCode(fake, { appid: OA.appid, user }));
      const info = await api('/sns/userinfo', {
        access_token: String(full.access_token),
        openid: 'o-emu-2',
        lang: 'zh_CN',
      });
      expect(info).toMatchObject({ openid: 'o-emu-2', nickname: '资料', sex: 1, privilege: [] });
      expect(info.headimgurl).toEqual(expect.stringContaining('/mmopen/'));
      const base = await exchange(mintOAuthCode(fake, { appid: OA.appid, scope: 'snsapi_base', user }));
      expect((await api('/sns/userinfo', { access_token: String(base.access_token), openid: 'o-emu-2' })).errcode).toBe(
        48001,
      );
    });

    it('should check a web access token: ok, 40003 for another openid, 40001 unknown, 42001 expired', async () => {
      const token = await exchange(mintOAuthCode(fake, { appid: OA.appid, user: { openid: 'o-emu-3' } }));
      const accessToken = String(token.access_token);
      expect(await api('/sns/auth', { access_token: accessToken, openid: 'o-emu-3' })).toEqual({
        errcode: 0,
        errmsg: 'ok',
      });
      expect((await api('/sns/auth', { access_token: accessToken, openid: 'o-other' })).errcode).toBe(40003);
      expect((await api('/sns/auth', { access_token: 'nope', openid: 'o-emu-3' })).errcode).toBe(40001);
      fake.clockOffsetMs = 7200_000 + 1;
      expect((await api('/sns/auth', { access_token: accessToken, openid: 'o-emu-3' })).errcode).toBe(42001);
    });

    it('should refresh for 30 days, then answer 42002; 40030 for an unknown refresh_token', async () => {
      const token = await exchange(mintOAuthCode(fake, { appid: OA.appid }));
      const refresh = () =>
        api('/sns/oauth2/refresh_token', {
          appid: OA.appid,
          grant_type: 'refresh_token',
          refresh_token: String(token.refresh_token),
        });
      fake.clockOffsetMs = 3 * 3600_000;
      const renewed = await refresh();
      expect(renewed).toMatchObject({ openid: token.openid, scope: 'snsapi_userinfo', expires_in: 7200 });
      expect(renewed.access_token).not.toBe(token.access_token);
      fake.clockOffsetMs = REFRESH_TOKEN_TTL_MS + 1;
      expect((await refresh()).errcode).toBe(42002);
      expect(
        (await api('/sns/oauth2/refresh_token', { appid: OA.appid, grant_type: 'refresh_token', refresh_token: 'x' }))
          .errcode,
      ).toBe(40030);
    });
  });

  describe('/__control/oauth', () => {
    it('should let the sandbox choose who logs in and how the authorize page answers', async () => {
      const post = (path: string, body: unknown) =>
        fetch(`${fake.url}/__control/oauth/${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      await post('user', { openid: 'o-ctl', nickname: '控制' });
      expect((await post('mode', { mode: 'approve' })).status).toBe(200);
      expect((await post('mode', { mode: 'maybe' })).status).toBe(400);
      const res = await fetch(authorizeUrl({}), { redirect: 'manual' });
      const code = new URL(res.headers.get('location') ?? '').searchParams.get('code') ?? '';
      expect((await exchange(code)).openid).toBe('o-ctl');
      const minted = (await (await post('code', { scope: 'snsapi_base' })).json()) as { code: string };
      expect((await exchange(minted.code)).scope).toBe('snsapi_base');
    });
  });
});
