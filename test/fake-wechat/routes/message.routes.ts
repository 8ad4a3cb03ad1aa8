import type { FakeRequest, FakeResponse, FakeWeChat } from 'test/fake-wechat/fake-wechat.server';
import { wechatError } from 'test/fake-wechat/fake-wechat.server';
import { checkAccessToken } from 'test/fake-wechat/routes/token.routes';

export type MessageKind = 'custom' | 'template' | 'subscribe';

export interface SentMessage {
  kind: MessageKind;
  appid: string;
  body: Record<string, unknown>;
  msgid: number;
  at: number;
}

interface MessageState {
  sent: SentMessage[];
  /** openid → the errcode every send to it is refused with (43004 not a follower, 45015 outside 48 h, …). */
  refusals: Map<string, number>;
  nextMsgid: number;
}

const ERRMSG: Record<number, string> = {
  40003: 'invalid openid',
  40037: 'invalid template_id',
  43004: 'require subscribe',
  43101: 'user refuse to accept the msg',
  45009: 'reach max api daily quota limit',
  45015: 'response out of time limit or subscription is canceled',
  47001: 'data format error',
  47003: 'argument invalid! data.thing1.value invalid',
};

export function messageState(fake: FakeWeChat): MessageState {
  return fake.stateOf<MessageState>('messages', () => ({ sent: [], refusals: new Map(), nextMsgid: 3_000_000_000 }));
}

/** Every send to `openid` is refused with `errcode` from now on (null: accepted again). */
export function refuseMessagesTo(fake: FakeWeChat, openid: string, errcode: number | null): void {
  const { refusals } = messageState(fake);
  if (errcode === null) {
    refusals.delete(openid);
  } else {
    refusals.set(openid, errcode);
  }
}

export function sentMessages(fake: FakeWeChat, touser?: string): SentMessage[] {
  return messageState(fake).sent.filter((message) => touser === undefined || message.body.touser === touser);
}

type Body = Record<string, unknown>;
const isObject = (value: unknown): value is Body => typeof value === 'object' && value !== null;

/** The shape checks WeChat makes, in its errcodes; null when the body is acceptable. */
function check(kind: MessageKind, body: unknown): FakeResponse | null {
  if (!isObject(body)) {
    return wechatError(47001, ERRMSG[47001]);
  }
  if (typeof body.touser !== 'string' || body.touser === '') {
    return wechatError(40003, ERRMSG[40003]);
  }
  if (kind === 'custom') {
    const msgtype = body.msgtype;
    return typeof msgtype === 'string' && isObject(body[msgtype]) ? null : wechatError(47001, ERRMSG[47001]);
  }
  if (typeof body.template_id !== 'string' || body.template_id === '') {
    return wechatError(40037, ERRMSG[40037]);
  }
  return isObject(body.data) ? null : wechatError(47003, ERRMSG[47003]);
}

/**
 * Customer-service, template and subscribe messages (客服消息 / 模板消息 / 订阅消息): the access_token and the body's
 * shape checked, refusals per recipient by control (`refuseMessagesTo`, `POST /__control/message-refusal`), every
 * accepted message kept (`sentMessages`, `GET /__control/messages`). Template sends answer a `msgid`; a template
 * `client_msg_id` seen before for the same touser is accepted without a second message, as WeChat does.
 */
export function registerMessageRoutes(fake: FakeWeChat): void {
  const send =
    (kind: MessageKind) =>
    ({ query, body }: FakeRequest): FakeResponse => {
      const token = checkAccessToken(fake, query.access_token);
      if ('body' in token) {
        return token;
      }
      const refused = check(kind, body);
      if (refused) {
        return refused;
      }
      const message = body as Body;
      const state = messageState(fake);
      const refusal = state.refusals.get(message.touser as string);
      if (refusal !== undefined) {
        return wechatError(refusal, ERRMSG[refusal] ?? 'refused');
      }
      if (kind === 'template' && typeof message.client_msg_id === 'string') {
        const earlier = state.sent.find(
          (sent) =>
            sent.kind === 'template' &&
            sent.body.touser === message.touser &&
            sent.body.client_msg_id === message.client_msg_id,
        );
        if (earlier) {
          return { body: { errcode: 0, errmsg: 'ok', msgid: earlier.msgid } };
        }
      }
      state.nextMsgid += 1;
      state.sent.push({ kind, appid: token.appid, body: message, msgid: state.nextMsgid, at: Date.now() });
      return {
        body: kind === 'template' ? { errcode: 0, errmsg: 'ok', msgid: state.nextMsgid } : { errcode: 0, errmsg: 'ok' },
      };
    };
  fake.route('POST', '/cgi-bin/message/custom/send', send('custom'));
  fake.route('POST', '/cgi-bin/message/template/send', send('template'));
  fake.route('POST', '/cgi-bin/message/subscribe/send', send('subscribe'));

  fake.route('POST', '/__control/message-refusal', ({ body }) => {
    const spec = isObject(body) ? body : {};
    if (typeof spec.touser !== 'string') {
      return { status: 400, body: { error: 'touser is required' } };
    }
    const errcode = typeof spec.errcode === 'number' ? spec.errcode : null;
    refuseMessagesTo(fake, spec.touser, errcode);
    return { body: { ok: true } };
  });

  fake.route('GET', '/__control/messages', ({ query }) => ({
    body: {
      messages: sentMessages(fake, query.touser).map(({ kind, appid, body, msgid }) => ({ kind, appid, body, msgid })),
    },
  }));
}
