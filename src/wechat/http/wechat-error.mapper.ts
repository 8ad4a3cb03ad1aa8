import { AppException } from 'src/common/errors/app-exception';
import type { WeChatApiError } from 'src/wechat/http/wechat-api.error';
import { WeChatErrcode } from 'src/wechat/http/wechat-errcode';

/**
 * The one place that turns a WeChat failure into the contract's HTTP error. Messages are ours and tell an
 * operator what to do; WeChat's errmsg is logged by the client, never echoed.
 */
export function wechatErrorToAppException(error: WeChatApiError): AppException {
  const options = { cause: error };
  switch (error.errcode) {
    case null:
    case WeChatErrcode.SystemBusy:
      return new AppException(
        502,
        'wechat_unavailable',
        error.timedOut ? 'WeChat did not answer in time; try again.' : 'WeChat is unavailable right now; try again.',
        options,
      );
    case WeChatErrcode.InvalidCode:
    case WeChatErrcode.CodeUsed:
    case WeChatErrcode.OauthCodeExpired:
      return new AppException(
        401,
        'invalid_code',
        'The code is invalid, expired or already used; get a new one.',
        options,
      );
    case WeChatErrcode.RiskyUser:
      return new AppException(403, 'risky_user', 'WeChat flagged this user as risky and refused the login.', options);
    case WeChatErrcode.ApiQuotaExceeded:
      return new AppException(
        503,
        'wechat_rate_limited',
        "The daily quota of this WeChat API is spent; it resets at midnight Beijing time (or reset it in WeChat's console).",
        options,
      );
    case WeChatErrcode.ApiFrequencyLimit:
      return new AppException(
        503,
        'wechat_rate_limited',
        'WeChat is limiting the call rate; try again shortly.',
        options,
      );
    case WeChatErrcode.InvalidIp:
      return new AppException(
        500,
        'wechat_misconfigured',
        "WeChat refused this server's IP address: add it to the IP whitelist in WeChat's console.",
        options,
      );
    case WeChatErrcode.InvalidAppid:
    case WeChatErrcode.InvalidAppSecret:
      return new AppException(
        500,
        'wechat_misconfigured',
        'WeChat rejected the configured AppID or AppSecret: check the credentials.',
        options,
      );
    case WeChatErrcode.InvalidCredential:
    case WeChatErrcode.InvalidAccessToken:
    case WeChatErrcode.AccessTokenExpired:
      return new AppException(
        500,
        'wechat_misconfigured',
        'WeChat rejected a freshly fetched access token: check the AppSecret and that no other system force-refreshes it.',
        options,
      );
    case WeChatErrcode.ApiUnauthorized:
      return new AppException(
        500,
        'wechat_misconfigured',
        'This WeChat account has no permission for the API: check its verification status and permissions.',
        options,
      );
    default:
      return new AppException(
        502,
        'wechat_error',
        'WeChat refused the request; the details are in the service log.',
        options,
      );
  }
}
