import { Injectable } from '@nestjs/common';
import { WeChatHttpClient } from 'src/wechat/http/wechat-http.client';

export interface WeChatMenu {
  button: Record<string, unknown>[];
}

interface MenuGetResult {
  menu?: { button?: Record<string, unknown>[]; menuid?: number };
}

/** The custom-menu API (自定义菜单) of the official account. */
@Injectable()
export class MenuClient {
  constructor(private readonly http: WeChatHttpClient) {}

  /** https://developers.weixin.qq.com/doc/service/api/custommenu/api_createcustommenu */
  async create(appid: string, accessToken: string, menu: WeChatMenu): Promise<void> {
    await this.http.post('/cgi-bin/menu/create', menu, { access_token: accessToken }, appid);
  }

  /** https://developers.weixin.qq.com/doc/service/api/custommenu/api_getmenu */
  async get(appid: string, accessToken: string): Promise<WeChatMenu> {
    const result = await this.http.get<MenuGetResult>('/cgi-bin/menu/get', { access_token: accessToken }, appid);
    return { button: result.menu?.button ?? [] };
  }

  /** https://developers.weixin.qq.com/doc/service/api/custommenu/api_deletemenu */
  async delete(appid: string, accessToken: string): Promise<void> {
    await this.http.get('/cgi-bin/menu/delete', { access_token: accessToken }, appid);
  }
}
