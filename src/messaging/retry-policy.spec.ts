import { AppException } from 'src/common/errors/app-exception';
import {
  classifySendFailure,
  FORWARD_BACKOFF_MS,
  FORWARD_MAX_ATTEMPTS,
  OUTBOX_BACKOFF_MS,
  OUTBOX_MAX_ATTEMPTS,
  retryDelay,
} from 'src/messaging/retry-policy';
import { WeChatApiError } from 'src/wechat/http/wechat-api.error';
import { WeChatErrcode } from 'src/wechat/http/wechat-errcode';

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

describe('retry policy', () => {
  it('should try an outbound message at most 8 times within an hour, jitter included', () => {
    expect(OUTBOX_MAX_ATTEMPTS).toBe(8);
    expect(OUTBOX_BACKOFF_MS).toHaveLength(OUTBOX_MAX_ATTEMPTS - 1);
    const slowest = OUTBOX_BACKOFF_MS.map((_, i) => retryDelay(OUTBOX_BACKOFF_MS, i + 1, () => 1)!);
    expect(sum(slowest)).toBeLessThanOrEqual(60 * 60 * 1000);
    expect(retryDelay(OUTBOX_BACKOFF_MS, OUTBOX_MAX_ATTEMPTS)).toBeNull();
  });

  it('should try a forward at least 5 times over at least 10 minutes, the second within 60 s', () => {
    expect(FORWARD_MAX_ATTEMPTS).toBeGreaterThanOrEqual(5);
    const quickest = FORWARD_BACKOFF_MS.map((_, i) => retryDelay(FORWARD_BACKOFF_MS, i + 1, () => 0)!);
    expect(sum(quickest)).toBeGreaterThanOrEqual(10 * 60 * 1000);
    expect(retryDelay(FORWARD_BACKOFF_MS, 1, () => 1)!).toBeLessThanOrEqual(60_000);
    expect(retryDelay(FORWARD_BACKOFF_MS, FORWARD_MAX_ATTEMPTS)).toBeNull();
  });

  it('should spread the waits by the jitter', () => {
    expect(retryDelay([10_000], 1, () => 0)).toBe(9_000);
    expect(retryDelay([10_000], 1, () => 1)).toBe(11_000);
  });

  it.each([
    [null, true, 'wechat_unavailable'],
    [WeChatErrcode.SystemBusy, true, 'wechat_unavailable'],
    [WeChatErrcode.ApiFrequencyLimit, true, 'wechat_rate_limited'],
    [WeChatErrcode.ApiQuotaExceeded, false, 'wechat_rate_limited'],
    [WeChatErrcode.RequireSubscribe, false, 'not_follower'],
    [WeChatErrcode.UserRefusedSubscription, false, 'declined'],
    [WeChatErrcode.ResponseOutOfTime, false, 'outside_window'],
    [WeChatErrcode.InvalidOpenid, false, 'invalid_openid'],
    [WeChatErrcode.InvalidTemplateId, false, 'invalid_template'],
    [WeChatErrcode.ArgumentInvalid, false, 'invalid_data'],
    [WeChatErrcode.InvalidAppSecret, false, 'wechat_misconfigured'],
    [61451, false, 'wechat_error'],
  ])('should treat errcode %p as retry=%p (%s)', (errcode, retry, code) => {
    const failure = classifySendFailure(new WeChatApiError('/cgi-bin/message/custom/send', errcode, 'errmsg rid: 1'));
    expect(failure).toMatchObject({ retry, errcode, code });
    expect(failure.message).not.toContain('rid');
  });

  it('should fail a message whose account is gone, and retry when our database is down', () => {
    expect(classifySendFailure(AppException.notFound('gone'))).toMatchObject({ retry: false, code: 'not_found' });
    expect(classifySendFailure(new AppException(503, 'database_unavailable', 'down'))).toMatchObject({ retry: true });
  });
});
