import type { AppException, ConvertibleToAppException } from 'src/common/errors/app-exception';
import type { WeChatErrcode } from 'src/wechat/http/wechat-errcode';
import { wechatErrorToAppException } from 'src/wechat/http/wechat-error.mapper';

/**
 * A failed WeChat call: `errcode` is WeChat's code, or null when no WeChat answer was had
 * (time-out, connection error, HTTP error status, a body that is not JSON). Services catch only the codes they
 * treat specially; the rest escape and the shared error body renders them through `wechatErrorToAppException`.
 */
export class WeChatApiError extends Error implements ConvertibleToAppException {
  constructor(
    readonly endpoint: string,
    readonly errcode: number | null,
    readonly errmsg: string,
    options?: { cause?: unknown; timedOut?: boolean },
  ) {
    super(`WeChat ${endpoint} failed: ${errcode ?? 'no answer'} ${errmsg}`, { cause: options?.cause });
    this.name = 'WeChatApiError';
    this.timedOut = options?.timedOut ?? false;
  }

  readonly timedOut: boolean;

  toAppException(): AppException {
    return wechatErrorToAppException(this);
  }
}

/** True when `error` is WeChat answering one of `codes`: the test a service uses for the codes it handles itself. */
export function isWeChatErrcode(error: unknown, ...codes: WeChatErrcode[]): error is WeChatApiError {
  return error instanceof WeChatApiError && error.errcode !== null && codes.includes(error.errcode);
}
