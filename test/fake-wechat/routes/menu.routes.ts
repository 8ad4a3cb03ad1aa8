import type { FakeResponse, FakeWeChat } from 'test/fake-wechat/fake-wechat.server';
import { wechatError } from 'test/fake-wechat/fake-wechat.server';
import { checkAccessToken } from 'test/fake-wechat/routes/token.routes';

type Button = Record<string, unknown>;

interface MenuState {
  menus: Map<string, { button: Button[]; menuid: number }>;
  nextId: number;
}

const BUTTON_TYPES = new Set([
  'click',
  'view',
  'scancode_push',
  'scancode_waitmsg',
  'pic_sysphoto',
  'pic_photo_or_album',
  'pic_weixin',
  'location_select',
  'media_id',
  'article_id',
  'article_view_limited',
  'miniprogram',
]);

export function menuState(fake: FakeWeChat): MenuState {
  return fake.stateOf<MenuState>('menus', () => ({ menus: new Map(), nextId: 400_000_000 }));
}

const bytes = (value: unknown): number => Buffer.byteLength(typeof value === 'string' ? value : '', 'utf8');

/** The checks of /cgi-bin/menu/create, in WeChat's errcodes; null when the menu is acceptable. */
function checkMenu(body: unknown): FakeResponse | null {
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { button?: unknown }).button)) {
    return wechatError(47001, 'data format error');
  }
  const buttons = (body as { button: unknown[] }).button;
  if (buttons.length < 1 || buttons.length > 3) {
    return wechatError(40016, 'invalid button size');
  }
  for (const raw of buttons) {
    const button = (typeof raw === 'object' && raw !== null ? raw : {}) as Button;
    if (typeof button.name !== 'string' || bytes(button.name) === 0 || bytes(button.name) > 16) {
      return wechatError(40018, 'invalid button name size');
    }
    if (Array.isArray(button.sub_button) && button.sub_button.length > 0) {
      if (button.sub_button.length > 5) {
        return wechatError(40023, 'invalid sub button size');
      }
      for (const subRaw of button.sub_button) {
        const sub = (typeof subRaw === 'object' && subRaw !== null ? subRaw : {}) as Button;
        if (typeof sub.type !== 'string' || !BUTTON_TYPES.has(sub.type)) {
          return wechatError(40024, 'invalid sub button type');
        }
        if (typeof sub.name !== 'string' || bytes(sub.name) === 0 || bytes(sub.name) > 60) {
          return wechatError(40025, 'invalid sub button name size');
        }
        if (sub.type === 'click' && (bytes(sub.key) === 0 || bytes(sub.key) > 128)) {
          return wechatError(40026, 'invalid sub button key size');
        }
        if (sub.type === 'view' && (bytes(sub.url) === 0 || bytes(sub.url) > 1024)) {
          return wechatError(40027, 'invalid sub button url size');
        }
      }
      continue;
    }
    if (typeof button.type !== 'string' || !BUTTON_TYPES.has(button.type)) {
      return wechatError(40017, 'invalid button type');
    }
    if (button.type === 'click' && (bytes(button.key) === 0 || bytes(button.key) > 128)) {
      return wechatError(40019, 'invalid button key size');
    }
    if (button.type === 'view' && (bytes(button.url) === 0 || bytes(button.url) > 1024)) {
      return wechatError(40020, 'invalid button url size');
    }
  }
  return null;
}

/** Adds `sub_button: []` where WeChat's menu/get shows it. */
function asShown(button: Button): Button {
  return Array.isArray(button.sub_button)
    ? { ...button, sub_button: (button.sub_button as Button[]).map((sub) => ({ ...sub, sub_button: [] })) }
    : { ...button, sub_button: [] };
}

/** Custom menu (自定义菜单): create, get (/cgi-bin/menu/get), delete; access_token checked as WeChat does. */
export function registerMenuRoutes(fake: FakeWeChat): void {
  fake.route('POST', '/cgi-bin/menu/create', ({ query, body }) => {
    const token = checkAccessToken(fake, query.access_token);
    if ('body' in token) {
      return token;
    }
    const refused = checkMenu(body);
    if (refused) {
      return refused;
    }
    const state = menuState(fake);
    state.nextId += 1;
    state.menus.set(token.appid, { button: (body as { button: Button[] }).button, menuid: state.nextId });
    return { body: { errcode: 0, errmsg: 'ok' } };
  });

  fake.route('GET', '/cgi-bin/menu/get', ({ query }) => {
    const token = checkAccessToken(fake, query.access_token);
    if ('body' in token) {
      return token;
    }
    const menu = menuState(fake).menus.get(token.appid);
    if (!menu) {
      return wechatError(46003, 'menu no exist');
    }
    return { body: { menu: { button: menu.button.map(asShown), menuid: menu.menuid } } };
  });

  fake.route('GET', '/cgi-bin/menu/delete', ({ query }) => {
    const token = checkAccessToken(fake, query.access_token);
    if ('body' in token) {
      return token;
    }
    menuState(fake).menus.delete(token.appid);
    return { body: { errcode: 0, errmsg: 'ok' } };
  });
}
