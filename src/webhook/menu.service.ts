import { Injectable } from '@nestjs/common';
import { OfficialAccount, requireFields } from 'src/accounts/account';
import { AppException } from 'src/common/errors/app-exception';
import { MenuClient, WeChatMenu } from 'src/webhook/menu.client';
import { isWeChatErrcode, WeChatApiError } from 'src/wechat/http/wechat-api.error';
import { WeChatErrcode } from 'src/wechat/http/wechat-errcode';

/** WeChat's answers to a menu it will not take, in our words (WeChat's errmsg stays in the log). */
const MENU_REFUSALS: Partial<Record<WeChatErrcode, string>> = {
  [WeChatErrcode.InvalidButtonCount]: 'the number of buttons is invalid (1 to 3)',
  [WeChatErrcode.InvalidButtonType]: 'a button type is invalid',
  [WeChatErrcode.InvalidButtonNameSize]: 'a button name is too long (16 bytes at most)',
  [WeChatErrcode.InvalidButtonKeySize]: 'a button key is too long (128 bytes at most)',
  [WeChatErrcode.InvalidButtonUrlSize]: 'a button URL is too long (1024 bytes at most)',
  [WeChatErrcode.InvalidSubButtonCount]: 'the number of sub-buttons is invalid (1 to 5)',
  [WeChatErrcode.InvalidSubButtonType]: 'a sub-button type is invalid',
  [WeChatErrcode.InvalidSubButtonNameSize]: 'a sub-button name is too long (60 bytes at most)',
  [WeChatErrcode.InvalidSubButtonKeySize]: 'a sub-button key is too long (128 bytes at most)',
  [WeChatErrcode.InvalidSubButtonUrlSize]: 'a sub-button URL is too long (1024 bytes at most)',
  [WeChatErrcode.InvalidSubButtonUrlDomain]: 'a sub-button URL domain is invalid',
  [WeChatErrcode.InvalidButtonUrlDomain]: 'a button URL domain is invalid',
  [WeChatErrcode.DataFormatError]: 'the menu JSON is malformed',
};

function menuRefusal(error: WeChatApiError): string | undefined {
  return error.errcode === null ? undefined : MENU_REFUSALS[error.errcode as WeChatErrcode];
}

/**
 * The official account's custom menu. WeChat's refusals of a menu are the caller's 400 and "no menu" is a 404;
 * every other WeChat failure goes up to the shared error body.
 */
@Injectable()
export class MenuService {
  constructor(private readonly client: MenuClient) {}

  async set(account: OfficialAccount, menu: WeChatMenu): Promise<void> {
    await this.call(account, (appid) => this.client.create(appid, { button: menu.button }));
  }

  async get(account: OfficialAccount): Promise<WeChatMenu> {
    return this.call(account, (appid) => this.client.get(appid));
  }

  async delete(account: OfficialAccount): Promise<void> {
    await this.call(account, (appid) => this.client.delete(appid));
  }

  private async call<T>(account: OfficialAccount, run: (appid: string) => Promise<T>): Promise<T> {
    const { appid } = requireFields(account, 'appid');
    try {
      return await run(appid);
    } catch (error) {
      if (isWeChatErrcode(error, WeChatErrcode.MenuNotSet)) {
        throw AppException.notFound('The official account has no custom menu.');
      }
      const refusal = error instanceof WeChatApiError ? menuRefusal(error) : undefined;
      if (refusal) {
        throw new AppException(400, 'bad_request', `WeChat refused the menu: ${refusal}.`, { cause: error });
      }
      throw error;
    }
  }
}
