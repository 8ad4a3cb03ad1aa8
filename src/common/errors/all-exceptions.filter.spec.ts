import { Logger } from '@nestjs/common';
import { toErrorBody } from 'src/common/errors/all-exceptions.filter';
import { AppException, ConvertibleToAppException } from 'src/common/errors/app-exception';

/** An outside system's error that knows its contract form, as WeChatApiError does. */
class UpstreamError extends Error implements ConvertibleToAppException {
  toAppException(): AppException {
    return new AppException(503, 'wechat_rate_limited', 'Try again shortly.', { cause: this });
  }
}

describe(toErrorBody.name, () => {
  let logger: Logger;

  beforeEach(() => {
    logger = new Logger('test');
    jest.spyOn(logger, 'error').mockImplementation(() => undefined);
  });

  it('should render an error that converts itself as what it converts to, without logging it', () => {
    expect(toErrorBody(new UpstreamError('upstream said no'), logger)).toEqual({
      statusCode: 503,
      error: 'wechat_rate_limited',
      message: 'Try again shortly.',
    });
    expect(logger.error).not.toHaveBeenCalled();
  });

  it('should render an AppException as it is', () => {
    expect(toErrorBody(AppException.notFound('Nothing here.'), logger)).toEqual({
      statusCode: 404,
      error: 'not_found',
      message: 'Nothing here.',
    });
  });

  it('should not take a plain object with a toAppException for a converting error', () => {
    const body = toErrorBody({ toAppException: () => AppException.notFound() }, logger);
    expect(body).toEqual({ statusCode: 500, error: 'internal_error', message: 'Internal server error.' });
    expect(logger.error).toHaveBeenCalledTimes(1);
  });
});
