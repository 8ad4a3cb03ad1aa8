import { AppException } from 'src/common/errors/app-exception';
import { WeChatApiError } from 'src/wechat/http/wechat-api.error';
import { WeChatErrcode } from 'src/wechat/http/wechat-errcode';

/** The most tries of an outbound message (the first included). */
export const OUTBOX_MAX_ATTEMPTS = 8;
/**
 * The wait after each failed try of an outbound message, before jitter: 7 waits for 8 tries, 47.4 min in all, at
 * most 52 min with the jitter (±10 %) — inside the hour a message is worth trying for.
 */
export const OUTBOX_BACKOFF_MS = [5_000, 20_000, 60_000, 180_000, 480_000, 900_000, 1_200_000] as const;

/** The most tries of a forward. */
export const FORWARD_MAX_ATTEMPTS = 7;
/** The wait after each failed try of a forward: the second try 10 s after the first, the last 18 min 40 s after it. */
export const FORWARD_BACKOFF_MS = [10_000, 30_000, 60_000, 120_000, 300_000, 600_000] as const;

/**
 * How long to wait after failed try `attempt` (1-based) of a schedule, with ±`jitter` spread so that messages that
 * failed together do not come back together; null when no tries are left.
 */
export function retryDelay(
  schedule: readonly number[],
  attempt: number,
  random: () => number = Math.random,
  jitter = 0.1,
): number | null {
  const base = schedule[attempt - 1];
  if (base === undefined) {
    return null;
  }
  return Math.round(base * (1 - jitter + 2 * jitter * random()));
}

/** What a failed send of an outbound message means for it. */
export type SendFailure =
  | { retry: true; errcode: number | null; code: string; message: string }
  | { retry: false; errcode: number | null; code: string; message: string };

const REFUSALS: ReadonlyMap<number, { code: string; message: string }> = new Map([
  [WeChatErrcode.RequireSubscribe, { code: 'not_follower', message: 'The user does not follow the account.' }],
  [
    WeChatErrcode.UserRefusedSubscription,
    { code: 'declined', message: 'The user has not accepted (or has turned off) this subscribe message.' },
  ],
  [
    WeChatErrcode.ResponseOutOfTime,
    { code: 'outside_window', message: "The user's last interaction is more than 48 hours ago." },
  ],
  [WeChatErrcode.InvalidOpenid, { code: 'invalid_openid', message: 'WeChat does not know this openid here.' }],
  [WeChatErrcode.InvalidTemplateId, { code: 'invalid_template', message: 'WeChat does not know this template.' }],
  [WeChatErrcode.ArgumentInvalid, { code: 'invalid_data', message: 'WeChat refused the data of the message.' }],
  [WeChatErrcode.DataFormatError, { code: 'invalid_data', message: 'WeChat refused the format of the message.' }],
]);

/**
 * Retry or fail: WeChat busy (-1), no answer (time-out, connection error, 5xx, not JSON) and its frequency limit
 * pass with time, so they are retried; the refusals retrying cannot fix, the daily quota (45009) and any other code
 * fail at once with the errcode kept. A stale token never gets here: the token facade renewed it and retried once.
 */
export function classifySendFailure(error: unknown): SendFailure {
  if (error instanceof AppException) {
    // Ours, before WeChat: an account gone or without credentials fails; our database being down passes.
    const retry = error.code === 'database_unavailable' || error.code === 'wechat_unavailable';
    return { retry, errcode: null, code: error.code, message: error.message };
  }
  if (!(error instanceof WeChatApiError)) {
    return { retry: true, errcode: null, code: 'internal_error', message: 'The send failed on our side.' };
  }
  const { errcode } = error;
  if (errcode === null || errcode === WeChatErrcode.SystemBusy) {
    return {
      retry: true,
      errcode,
      code: 'wechat_unavailable',
      message: error.timedOut ? 'WeChat did not answer in time.' : 'WeChat was busy or unreachable.',
    };
  }
  if (errcode === WeChatErrcode.ApiFrequencyLimit) {
    return { retry: true, errcode, code: 'wechat_rate_limited', message: 'WeChat limited the call rate.' };
  }
  if (errcode === WeChatErrcode.ApiQuotaExceeded) {
    return {
      retry: false,
      errcode,
      code: 'wechat_rate_limited',
      message: 'The daily quota of this WeChat API is spent (it resets at midnight Beijing time).',
    };
  }
  const refusal = REFUSALS.get(errcode);
  if (refusal) {
    return { retry: false, errcode, ...refusal };
  }
  const mapped = error.toAppException();
  return { retry: false, errcode, code: mapped.code, message: mapped.message };
}
