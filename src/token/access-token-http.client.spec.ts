import { Logger } from '@nestjs/common';
import { sha256Hex } from 'src/common/sealing/secret-sealer';
import { AccessTokenHttpClient } from 'src/token/access-token-http.client';
import type { TokenService } from 'src/token/token.service';
import { WeChatApiError } from 'src/wechat/http/wechat-api.error';
import { WeChatErrcode } from 'src/wechat/http/wechat-errcode';
import type { WeChatHttpClient, WeChatRequest } from 'src/wechat/http/wechat-http.client';

/** Hands out `token-1`, then `token-2` once `token-1` was rejected; records the rejections. */
class FakeTokens {
  current = 'token-1';
  rejected: [string, string][] = [];
  avoided: (string | undefined)[] = [];

  getAccessToken(appid: string, options?: { notHash?: string }) {
    this.avoided.push(options?.notHash);
    return Promise.resolve({ appid, accessToken: this.current, expiresAt: new Date() });
  }

  onTokenRejected(appid: string, accessToken: string): Promise<void> {
    this.rejected.push([appid, accessToken]);
    this.current = 'token-2';
    return Promise.resolve();
  }
}

/** Answers each request with the next of `answers` (an error is thrown) and records the requests. */
class FakeHttp {
  requests: WeChatRequest[] = [];

  constructor(private readonly answers: (object | Error)[]) {}

  request<T>(request: WeChatRequest): Promise<T> {
    this.requests.push(request);
    const answer = this.answers.shift();
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer as T);
  }
}

describe(AccessTokenHttpClient.name, () => {
  const stale = (errcode: WeChatErrcode) => new WeChatApiError('/cgi-bin/menu/get', errcode, 'stale');
  let tokens: FakeTokens;

  const make = (answers: (object | Error)[]) => {
    const http = new FakeHttp(answers);
    const sut = new AccessTokenHttpClient(tokens as unknown as TokenService, http as unknown as WeChatHttpClient);
    return { sut, http };
  };

  beforeEach(() => {
    tokens = new FakeTokens();
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => jest.restoreAllMocks());

  it('should add the appid access_token to the query of a GET', async () => {
    const { sut, http } = make([{ menu: {} }]);
    await expect(sut.get('wx-oa', '/cgi-bin/menu/get', { lang: 'zh_CN' })).resolves.toEqual({ menu: {} });
    expect(http.requests).toEqual([
      { method: 'GET', path: '/cgi-bin/menu/get', query: { lang: 'zh_CN', access_token: 'token-1' }, appid: 'wx-oa' },
    ]);
  });

  it('should send a POST body as given, with the token in the query', async () => {
    const { sut, http } = make([{ phone_info: {} }]);
    await sut.post('wx-mp', '/wxa/business/getuserphonenumber', { code: 'c' });
    expect(http.requests[0]).toEqual({
      method: 'POST',
      path: '/wxa/business/getuserphonenumber',
      body: { code: 'c' },
      query: { access_token: 'token-1' },
      appid: 'wx-mp',
    });
  });

  it.each([WeChatErrcode.InvalidCredential, WeChatErrcode.InvalidAccessToken, WeChatErrcode.AccessTokenExpired])(
    'should drop a token WeChat calls stale (%i) and retry once with a fresh one',
    async (errcode) => {
      const { sut, http } = make([stale(errcode), { ok: true }]);
      await expect(sut.get('wx-oa', '/cgi-bin/menu/get')).resolves.toEqual({ ok: true });
      expect(tokens.rejected).toEqual([['wx-oa', 'token-1']]);
      expect(tokens.avoided).toEqual([undefined, sha256Hex('token-1')]);
      expect(http.requests.map((request) => request.query?.access_token)).toEqual(['token-1', 'token-2']);
    },
  );

  it('should retry only once: a second stale answer goes up', async () => {
    const second = stale(WeChatErrcode.AccessTokenExpired);
    const { sut, http } = make([stale(WeChatErrcode.InvalidCredential), second, { ok: true }]);
    await expect(sut.get('wx-oa', '/cgi-bin/menu/get')).rejects.toBe(second);
    expect(http.requests).toHaveLength(2);
    expect(tokens.rejected).toHaveLength(1);
  });

  it.each([
    ['another errcode', new WeChatApiError('/cgi-bin/menu/get', WeChatErrcode.MenuNotSet, 'no menu')],
    ['no answer', new WeChatApiError('/cgi-bin/menu/get', null, 'timed out')],
    ['an error of ours', new Error('bug')],
  ])('should neither drop the token nor retry on %s', async (_label, error) => {
    const { sut, http } = make([error, { ok: true }]);
    await expect(sut.get('wx-oa', '/cgi-bin/menu/get')).rejects.toBe(error);
    expect(http.requests).toHaveLength(1);
    expect(tokens.rejected).toEqual([]);
  });
});
