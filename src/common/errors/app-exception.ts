/** The `error` codes of the contract's JSON errors: one union, one place. */
export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'outside_window'
  | 'managed_by_env'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'uri_too_long'
  | 'headers_too_large'
  | 'request_timeout'
  | 'too_many_requests'
  | 'invalid_signature'
  | 'invalid_state'
  | 'invalid_code'
  | 'risky_user'
  | 'reauthorize'
  | 'not_configured'
  | 'wechat_unavailable'
  | 'wechat_rate_limited'
  | 'wechat_misconfigured'
  | 'wechat_error'
  | 'database_unavailable'
  | 'internal_error';

/** An error with a contract code; the global filter renders it as `{statusCode, error, message}`. */
export class AppException extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(message, options);
    this.name = 'AppException';
    this.headers = options?.headers;
  }

  /** Headers that go with the answer, e.g. `Retry-After` on a 429. */
  readonly headers?: Record<string, string>;

  static badRequest(message: string): AppException {
    return new AppException(400, 'bad_request', message);
  }

  static unauthorized(message = 'A valid session is required.'): AppException {
    return new AppException(401, 'unauthorized', message);
  }

  static notFound(message = 'Not found.'): AppException {
    return new AppException(404, 'not_found', message);
  }

  static notConfigured(...variables: string[]): AppException {
    return new AppException(
      503,
      'not_configured',
      `This feature is not configured: set ${variables.join(' and ')} in the environment.`,
    );
  }
}

/**
 * An error from an outside system that knows its contract form. The shared error body renders what
 * `toAppException()` answers, so this folder needs to know nothing about the systems behind such errors.
 */
export interface ConvertibleToAppException {
  toAppException(): AppException;
}

export function isConvertibleToAppException(error: unknown): error is ConvertibleToAppException {
  return error instanceof Error && typeof (error as Partial<ConvertibleToAppException>).toAppException === 'function';
}

export interface ErrorBody {
  statusCode: number;
  error: ErrorCode;
  message: string;
}
