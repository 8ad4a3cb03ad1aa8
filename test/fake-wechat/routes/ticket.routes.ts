import { createHash } from 'node:crypto';
import type { FakeResponse, FakeWeChat } from 'test/fake-wechat/fake-wechat.server';
import { wechatError } from 'test/fake-wechat/fake-wechat.server';
import { checkAccessToken } from 'test/fake-wechat/routes/token.routes';

/** `jsapi`: the JS-SDK's `wx.config` ticket; `wx_card`: the card (卡券) api_ticket. */
export type TicketType = 'jsapi' | 'wx_card';

export const TICKET_TYPES: readonly TicketType[] = ['jsapi', 'wx_card'];

export interface IssuedTicket {
  ticket: string;
  appid: string;
  type: TicketType;
  expiresAt: number;
}

interface TicketState {
  /** The current ticket per `appid:type`; an expired or invalidated one is no longer here or no longer current. */
  current: Map<string, IssuedTicket>;
}

function ticketState(fake: FakeWeChat): TicketState {
  return fake.stateOf<TicketState>('tickets', () => ({ current: new Map() }));
}

const keyOf = (appid: string, type: TicketType): string => `${appid}:${type}`;

export const isTicketType = (value: unknown): value is TicketType =>
  typeof value === 'string' && (TICKET_TYPES as readonly string[]).includes(value);

/** The app's current, unexpired ticket of `type`, if WeChat holds one. */
export function currentTicket(fake: FakeWeChat, appid: string, type: TicketType = 'jsapi'): IssuedTicket | undefined {
  const issued = ticketState(fake).current.get(keyOf(appid, type));
  return issued && issued.expiresAt > fake.now() ? issued : undefined;
}

/** True when `ticket` is the app's current, unexpired ticket of `type`: the one WeChat would check a signature with. */
export function isCurrentTicket(fake: FakeWeChat, appid: string, ticket: string, type: TicketType = 'jsapi'): boolean {
  return currentTicket(fake, appid, type)?.ticket === ticket;
}

/**
 * As if another system had refreshed the ticket: the current one (of `type`, or of every type) stops being current
 * and the next getticket issues a new one. Returns how many tickets stopped.
 */
export function invalidateTickets(fake: FakeWeChat, appid: string, type?: TicketType): number {
  const state = ticketState(fake);
  let count = 0;
  for (const each of type ? [type] : TICKET_TYPES) {
    if (currentTicket(fake, appid, each)) {
      count += 1;
    }
    state.current.delete(keyOf(appid, each));
  }
  return count;
}

/**
 * What the WeChat client checks on `wx.config` (JS-SDK 附录1), computed here on its own rather than with the
 * service's code: sha1 of `jsapi_ticket=…&noncestr=…&timestamp=…&url=…` with the app's current ticket and the page
 * url up to its `#`. Returns null when it holds, else the reason WeChat's debug mode would show.
 */
export function checkWxConfig(
  fake: FakeWeChat,
  config: { appId: string; timestamp: string | number; nonceStr: string; signature: string; url: string },
): string | null {
  const issued = currentTicket(fake, config.appId, 'jsapi');
  if (!issued) {
    return 'invalid signature (no current jsapi_ticket for this appId)';
  }
  const pageUrl = config.url.split('#', 1)[0];
  const plain = `jsapi_ticket=${issued.ticket}&noncestr=${config.nonceStr}&timestamp=${config.timestamp}&url=${pageUrl}`;
  const expected = createHash('sha1').update(plain, 'utf8').digest('hex');
  return expected === config.signature ? null : 'invalid signature';
}

function answer(fake: FakeWeChat, issued: IssuedTicket): FakeResponse {
  // Seconds left, rounded as for access tokens: a ticket issued a millisecond ago has 7200 left.
  const expiresIn = Math.max(0, Math.round((issued.expiresAt - fake.now()) / 1000));
  return { body: { errcode: 0, errmsg: 'ok', ticket: issued.ticket, expires_in: expiresIn } };
}

export function registerTicketRoutes(fake: FakeWeChat): void {
  // https://developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/JS-SDK.html (附录1: jsapi_ticket; 卡券 api_ticket
  // with type=wx_card). A ticket belongs to the app, not to the access token that fetched it: it lives 7200 s on its
  // own, a new access token leaves it alone, and asking again within its life returns it unchanged.
  fake.route('GET', '/cgi-bin/ticket/getticket', ({ query }) => {
    const token = checkAccessToken(fake, query.access_token);
    if ('body' in token) {
      return token;
    }
    if (!isTicketType(query.type)) {
      return wechatError(40097, 'invalid args');
    }
    // Tickets are an official-account (JS-SDK) capability; a mini-program's token has no right to them.
    if (fake.apps.get(token.appid)?.kind !== 'official_account') {
      return wechatError(48001, 'api unauthorized');
    }
    const current = currentTicket(fake, token.appid, query.type);
    if (current) {
      return answer(fake, current);
    }
    const issued: IssuedTicket = {
      ticket: fake.randomToken(64),
      appid: token.appid,
      type: query.type,
      expiresAt: fake.now() + fake.ticketTtlSeconds * 1000,
    };
    ticketState(fake).current.set(keyOf(token.appid, query.type), issued);
    return answer(fake, issued);
  });
}
