import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { AppException, ErrorBody, ErrorCode, isConvertibleToAppException } from 'src/common/errors/app-exception';
import { isDatabaseDownError } from 'src/database/database-errors';

const STATUS_CODES: Record<number, ErrorCode> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
};

function messageOf(exception: HttpException): string {
  const response = exception.getResponse();
  if (typeof response === 'string') {
    return response;
  }
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) {
    return message.join('; ');
  }
  return typeof message === 'string' ? message : exception.message;
}

function isFastifyError(error: { code?: unknown }): boolean {
  return typeof error?.code === 'string' && error.code.startsWith('FST_');
}

/**
 * Turns any error into the contract's JSON error; unknown errors become a generic 500 and are logged. An error that
 * converts itself (a WeChat failure no service handled) is rendered as what it converts to.
 */
export function toErrorBody(thrown: unknown, logger: Logger): ErrorBody {
  const exception = isConvertibleToAppException(thrown) ? thrown.toAppException() : thrown;
  if (exception instanceof AppException) {
    return { statusCode: exception.status, error: exception.code, message: exception.message };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const error = STATUS_CODES[status] ?? (status >= 500 ? 'internal_error' : 'bad_request');
    return { statusCode: status, error, message: messageOf(exception) };
  }
  // The platform's own refusals: body-parser's shape (`type`, `status`) and Fastify's (`code`, `statusCode`).
  const platformError = exception as { type?: string; status?: number; code?: unknown; statusCode?: number };
  if (platformError?.type === 'entity.too.large' || platformError?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return { statusCode: 413, error: 'payload_too_large', message: 'The request body is too large.' };
  }
  if (platformError?.type === 'charset.unsupported') {
    return {
      statusCode: 415,
      error: 'unsupported_media_type',
      message: 'JSON bodies are read as UTF-8 only: send charset=utf-8 or no charset.',
    };
  }
  if (platformError?.type === 'entity.invalid') {
    return { statusCode: 400, error: 'bad_request', message: (exception as Error).message };
  }
  const status = platformError?.status ?? (isFastifyError(platformError) ? platformError.statusCode : undefined);
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { statusCode: 400, error: 'bad_request', message: 'The request body could not be read.' };
  }
  if (isDatabaseDownError(exception)) {
    logger.error(`Database unavailable: ${(exception as Error).message}`);
    return { statusCode: 503, error: 'database_unavailable', message: 'The database is unavailable; try again soon.' };
  }
  logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
  return { statusCode: HttpStatus.INTERNAL_SERVER_ERROR, error: 'internal_error', message: 'Internal server error.' };
}

/** The headers an error asks to be answered with (an AppException's `Retry-After`), if any. */
export function headersOf(thrown: unknown): Record<string, string> | undefined {
  return thrown instanceof AppException ? thrown.headers : undefined;
}

@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger(AllExceptionsFilter.name);

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const { httpAdapter } = this.adapterHost;
    const response: unknown = host.switchToHttp().getResponse();
    const body = toErrorBody(exception, this.logger);
    if (httpAdapter.isHeadersSent(response)) {
      return;
    }
    const headers = headersOf(exception);
    for (const name of Object.keys(headers ?? {})) {
      httpAdapter.setHeader(response, name, headers![name]);
    }
    httpAdapter.reply(response, body, body.statusCode);
  }
}
