/**
 * A failed WeChat call: `errcode` is WeChat's code, or null when no WeChat answer was had
 * (time-out, connection error, HTTP error status, a body that is not JSON).
 */
export class WeChatApiError extends Error {
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
}
