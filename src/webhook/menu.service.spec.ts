import { Logger } from '@nestjs/common';
import { toErrorBody } from 'src/common/errors/all-exceptions.filter';
import { AppException } from 'src/common/errors/app-exception';
import type { MenuClient, WeChatMenu } from 'src/webhook/menu.client';
import { MenuService } from 'src/webhook/menu.service';
import { WeChatApiError } from 'src/wechat/http/wechat-api.error';
import { WeChatErrcode } from 'src/wechat/http/wechat-errcode';
import { officialAccount } from 'test/support/accounts';

/** Fails every call with `failure` when set; records the appids it was called for. */
class FakeMenuClient {
  failure?: Error;
  appids: string[] = [];

  create(appid: string): Promise<void> {
    return this.answer(appid, undefined);
  }

  get(appid: string): Promise<WeChatMenu> {
    return this.answer(appid, { button: [] });
  }

  delete(appid: string): Promise<void> {
    return this.answer(appid, undefined);
  }

  private answer<T>(appid: string, value: T): Promise<T> {
    this.appids.push(appid);
    return this.failure ? Promise.reject(this.failure) : Promise.resolve(value);
  }
}

const ACCOUNT = officialAccount({ appid: 'wx-oa' });

describe(MenuService.name, () => {
  let client: FakeMenuClient;
  let sut: MenuService;
  const menuError = (errcode: number | null) => new WeChatApiError('/cgi-bin/menu/create', errcode, 'WeChat errmsg');

  beforeEach(() => {
    client = new FakeMenuClient();
    sut = new MenuService(client as unknown as MenuClient);
  });

  it("should call the client for the account's appid", async () => {
    await expect(sut.get(ACCOUNT)).resolves.toEqual({ button: [] });
    await sut.delete(officialAccount({ appid: 'wx-other', source: 'api' }));
    expect(client.appids).toEqual(['wx-oa', 'wx-other']);
  });

  it.each([
    [WeChatErrcode.InvalidButtonCount, /number of buttons/],
    [WeChatErrcode.InvalidSubButtonUrlDomain, /sub-button URL domain/],
    [WeChatErrcode.DataFormatError, /JSON is malformed/],
  ])('should answer 400 in its own words when WeChat refuses the menu (%i)', async (errcode, message) => {
    client.failure = menuError(errcode);
    const error = await sut.set(ACCOUNT, { button: [] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AppException);
    expect(error).toMatchObject({ status: 400, code: 'bad_request', cause: client.failure });
    expect((error as AppException).message).toMatch(message);
    expect((error as AppException).message).not.toContain('errmsg');
  });

  it('should answer 404 when the account has no menu', async () => {
    client.failure = menuError(WeChatErrcode.MenuNotSet);
    await expect(sut.get(ACCOUNT)).rejects.toMatchObject({ status: 404, code: 'not_found' });
  });

  it.each([
    ['busy', WeChatErrcode.SystemBusy],
    ['no answer', null],
    ['rate limited', WeChatErrcode.ApiFrequencyLimit],
  ])('should let any other WeChat failure (%s) go up for the shared error body', async (_label, errcode) => {
    client.failure = menuError(errcode);
    const error = await sut.delete(ACCOUNT).catch((caught: unknown) => caught);
    expect(error).toBe(client.failure);
    expect(toErrorBody(error, new Logger('test')).error).toMatch(/^wechat_/);
  });

  it('should say WECHAT_OA_APPID is unset without calling WeChat', async () => {
    await expect(sut.get(officialAccount({ appid: undefined }))).rejects.toMatchObject({
      status: 503,
      code: 'not_configured',
      message: expect.stringContaining('WECHAT_OA_APPID'),
    });
    expect(client.appids).toEqual([]);
  });
});
