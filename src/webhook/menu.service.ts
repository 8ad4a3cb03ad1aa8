import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AppException } from 'src/common/errors/app-exception';
import type { Configuration } from 'src/config/configuration';
import { TokenService } from 'src/token/token.service';
import { MenuClient, WeChatMenu } from 'src/webhook/menu.client';
import { WeChatApiError } from 'src/wechat/http/wechat-api.error';
import { wechatErrorToAppException } from 'src/wechat/http/wechat-error.mapper';

/** WeChat's answers to a menu it will not take, in our words (WeChat's errmsg stays in the log). */
const MENU_REFUSALS: Record<number, string> = {
  40016: 'the number of buttons is invalid (1 to 3)',
  40017: 'a button type is invalid',
  40018: 'a button name is too long (16 bytes at most)',
  40019: 'a button key is too long (128 bytes at most)',
  40020: 'a button URL is too long (1024 bytes at most)',
  40023: 'the number of sub-buttons is invalid (1 to 5)',
  40024: 'a sub-button type is invalid',
  40025: 'a sub-button name is too long (60 bytes at most)',
  40026: 'a sub-button key is too long (128 bytes at most)',
  40027: 'a sub-button URL is too long (1024 bytes at most)',
  40054: 'a sub-button URL domain is invalid',
  40055: 'a button URL domain is invalid',
  47001: 'the menu JSON is malformed',
};
const MENU_NOT_SET = 46003;

/** The official account's custom menu, through the shared access token (retried once on a stale token). */
@Injectable()
export class MenuService {
  private readonly appId?: string;

  constructor(
    private readonly tokens: TokenService,
    private readonly client: MenuClient,
    config: ConfigService<Configuration, true>,
  ) {
    this.appId = config.get('wechat', { infer: true }).oa.appId;
  }

  async set(menu: WeChatMenu): Promise<void> {
    await this.call((appid, token) => this.client.create(appid, token, { button: menu.button }));
  }

  async get(): Promise<WeChatMenu> {
    return this.call((appid, token) => this.client.get(appid, token));
  }

  async delete(): Promise<void> {
    await this.call((appid, token) => this.client.delete(appid, token));
  }

  private async call<T>(run: (appid: string, accessToken: string) => Promise<T>): Promise<T> {
    const appid = this.appId;
    if (!appid) {
      throw AppException.notConfigured('WECHAT_OA_APPID');
    }
    try {
      return await this.tokens.withAccessToken(appid, (token) => run(appid, token));
    } catch (error) {
      if (!(error instanceof WeChatApiError)) {
        throw error;
      }
      if (error.errcode === MENU_NOT_SET) {
        throw AppException.notFound('The official account has no custom menu.');
      }
      const refusal = error.errcode === null ? undefined : MENU_REFUSALS[error.errcode];
      if (refusal) {
        throw new AppException(400, 'bad_request', `WeChat refused the menu: ${refusal}.`, { cause: error });
      }
      throw wechatErrorToAppException(error);
    }
  }
}
