import { Injectable } from '@nestjs/common';
import { AccessTokenHttpClient } from 'src/token/access-token-http.client';

export interface WeChatMenu {
  button: Record<string, unknown>[];
}

interface MenuGetResult {
  menu?: { button?: Record<string, unknown>[]; menuid?: number };
}

/** The custom-menu API (自定义菜单) of the official account, with its shared access token. */
@Injectable()
export class MenuClient {
  constructor(private readonly api: AccessTokenHttpClient) {}

  /** https://developers.weixin.qq.com/doc/service/api/custommenu/api_createcustommenu */
  async create(appid: string, menu: WeChatMenu): Promise<void> {
    await this.api.post(appid, '/cgi-bin/menu/create', menu);
  }

  /** https://developers.weixin.qq.com/doc/service/api/custommenu/api_getmenu */
  async get(appid: string): Promise<WeChatMenu> {
    const result = await this.api.get<MenuGetResult>(appid, '/cgi-bin/menu/get');
    return { button: result.menu?.button ?? [] };
  }

  /** https://developers.weixin.qq.com/doc/service/api/custommenu/api_deletemenu */
  async delete(appid: string): Promise<void> {
    await this.api.get(appid, '/cgi-bin/menu/delete');
  }
}
