import { Logger } from '@nestjs/common';
import { toErrorBody } from 'src/common/errors/all-exceptions.filter';
import { isWeChatErrcode, WeChatApiError } from 'src/wechat/http/wechat-api.error';
import { WeChatErrcode } from 'src/wechat/http/wechat-errcode';
import { wechatErrorToAppException } from 'src/wechat/http/wechat-error.mapper';

/** A code WeChat may answer that this service does not name. */
const UNNAMED_ERRCODE = 61451;

describe(WeChatApiError.name, () => {
  it.each([
    ['an answer', WeChatErrcode.RiskyUser],
    ['no answer', null],
    ['an unnamed code', UNNAMED_ERRCODE],
  ])('should reach the shared error body as wechatErrorToAppException maps it (%s)', (_label, errcode) => {
    const sut = new WeChatApiError('/sns/jscode2session', errcode, 'errmsg of WeChat');
    const expected = wechatErrorToAppException(sut);
    expect(toErrorBody(sut, new Logger('test'))).toEqual({
      statusCode: expected.status,
      error: expected.code,
      message: expected.message,
    });
  });

  it('should keep itself as the cause of the converted error', () => {
    const sut = new WeChatApiError('/cgi-bin/menu/get', WeChatErrcode.ApiFrequencyLimit, 'limit');
    expect(sut.toAppException().cause).toBe(sut);
  });
});

describe(isWeChatErrcode.name, () => {
  const error = new WeChatApiError('/sns/oauth2/refresh_token', WeChatErrcode.RefreshTokenExpired, 'expired');

  it('should recognise WeChat answering one of the codes', () => {
    expect(isWeChatErrcode(error, WeChatErrcode.InvalidRefreshToken, WeChatErrcode.RefreshTokenExpired)).toBe(true);
  });

  it('should refuse another code, no answer and other errors', () => {
    expect(isWeChatErrcode(error, WeChatErrcode.InvalidRefreshToken)).toBe(false);
    expect(isWeChatErrcode(new WeChatApiError('/x', null, 'timed out'), WeChatErrcode.SystemBusy)).toBe(false);
    expect(isWeChatErrcode(new Error('invalid credential'), WeChatErrcode.InvalidCredential)).toBe(false);
  });
});
