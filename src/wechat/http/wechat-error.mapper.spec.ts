import { WeChatApiError } from 'src/wechat/http/wechat-api.error';
import { wechatErrorToAppException } from 'src/wechat/http/wechat-error.mapper';
import { WeChatErrcode } from 'src/wechat/http/wechat-errcode';

/** A code WeChat may answer that this service does not name. */
const UNNAMED_ERRCODE = 61451;

describe(wechatErrorToAppException.name, () => {
  const cases: [string, number | null, number, string, RegExp][] = [
    ['no answer (time-out, 5xx, not JSON)', null, 502, 'wechat_unavailable', /./],
    ['busy', WeChatErrcode.SystemBusy, 502, 'wechat_unavailable', /./],
    ['invalid code', WeChatErrcode.InvalidCode, 401, 'invalid_code', /./],
    ['used code', WeChatErrcode.CodeUsed, 401, 'invalid_code', /./],
    ['expired OAuth code', WeChatErrcode.OauthCodeExpired, 401, 'invalid_code', /./],
    ['risky user', WeChatErrcode.RiskyUser, 403, 'risky_user', /./],
    ['daily quota', WeChatErrcode.ApiQuotaExceeded, 503, 'wechat_rate_limited', /daily quota/],
    ['frequency limit', WeChatErrcode.ApiFrequencyLimit, 503, 'wechat_rate_limited', /./],
    ['IP not whitelisted', WeChatErrcode.InvalidIp, 500, 'wechat_misconfigured', /IP whitelist/],
    ['bad appid', WeChatErrcode.InvalidAppid, 500, 'wechat_misconfigured', /AppID or AppSecret/],
    ['bad secret', WeChatErrcode.InvalidAppSecret, 500, 'wechat_misconfigured', /AppID or AppSecret/],
    ['stale token after the retry', WeChatErrcode.InvalidCredential, 500, 'wechat_misconfigured', /./],
    ['bad token after the retry', WeChatErrcode.InvalidAccessToken, 500, 'wechat_misconfigured', /./],
    ['expired token after the retry', WeChatErrcode.AccessTokenExpired, 500, 'wechat_misconfigured', /./],
    ['no API permission', WeChatErrcode.ApiUnauthorized, 500, 'wechat_misconfigured', /./],
    ['anything else', UNNAMED_ERRCODE, 502, 'wechat_error', /./],
  ];

  it.each(cases)('should map %s to the contract error', (_label, errcode, status, code, message) => {
    const sut = wechatErrorToAppException(new WeChatApiError('/x', errcode, 'secret-bearing errmsg appsecret=abc'));
    expect(sut.status).toBe(status);
    expect(sut.code).toBe(code);
    expect(sut.message).not.toContain('errmsg');
    expect(sut.message).not.toContain('abc');
    expect(sut.message).toMatch(message);
  });

  it('should keep the WeChat error as the cause for the log', () => {
    const error = new WeChatApiError('/sns/jscode2session', WeChatErrcode.InvalidCode, 'invalid code');
    expect(wechatErrorToAppException(error).cause).toBe(error);
  });

  it('should say a time-out is a time-out', () => {
    const sut = wechatErrorToAppException(new WeChatApiError('/x', null, 'timed out', { timedOut: true }));
    expect(sut.message).toMatch(/in time/);
  });

  it.each(Object.values(WeChatErrcode).filter((value): value is number => typeof value === 'number'))(
    'should map the named errcode %i to an HTTP error of ours',
    (errcode) => {
      const sut = wechatErrorToAppException(new WeChatApiError('/x', errcode, 'errmsg appsecret=abc'));
      expect(sut.status).toBeGreaterThanOrEqual(400);
      expect(sut.status).toBeLessThan(600);
      expect(sut.message).not.toContain('errmsg');
    },
  );
});
