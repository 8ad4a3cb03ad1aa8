import { createHmac, hash } from 'node:crypto';
import type { InboundMessage } from 'src/wechat/messages/inbound-message';
import type { NewsArticle, Reply } from 'src/wechat/messages/reply';

/** The message's fields that the forward carries under names of their own, not again in `fields`. */
const NAMED_FIELDS = new Set(['ToUserName', 'FromUserName', 'CreateTime', 'MsgType', 'Event', 'MsgId']);

/**
 * A forward's `id`: the same for every delivery of one message — the one that forwarded it, and one that took over
 * after it died — so a backend can drop duplicates by it. A UUID (version 8) made of SHA-256 of the inbound record's
 * key (the account's ToUserName and the message's dedupe key).
 */
export function forwardId(toUserName: string, dedupeKey: string): string {
  const digest = hash('sha256', `${toUserName}\n${dedupeKey}`, 'buffer');
  digest[6] = (digest[6] & 0x0f) | 0x80;
  digest[8] = (digest[8] & 0x3f) | 0x80;
  const hex = digest.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The JSON body forwarded to the team's backend (the contract's shape, keys in its order), as the exact text that
 * is signed and sent on every try.
 */
export function forwardBody(id: string, appid: string, message: InboundMessage): string {
  const fields: Record<string, string> = {};
  for (const name of Object.keys(message.raw)) {
    if (!NAMED_FIELDS.has(name)) {
      fields[name] = message.raw[name];
    }
  }
  const event = 'event' in message ? message.event : undefined;
  const msgId = 'msgId' in message ? message.msgId : undefined;
  return JSON.stringify({
    id,
    appid,
    openid: message.fromUserName,
    msgType: message.msgType,
    ...(event === undefined ? {} : { event }),
    ...(msgId === undefined ? {} : { msgId }),
    createTime: message.createTime,
    fields,
  });
}

/** `X-Signature`: `sha256=` and the hex HMAC-SHA256 of the raw body bytes with FORWARD_SECRET. */
export function forwardSignature(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown, max: number): string | undefined =>
  typeof value === 'string' && value.length > 0 && value.length <= max ? value : undefined;
const optional = (value: unknown, max: number): string | undefined | null =>
  value === undefined ? undefined : (str(value, max) ?? (value === '' ? '' : null));

/**
 * The `reply` of a backend's answer `{"reply":{…}}` (a `reply` as in the auto-reply rules), or null when it has
 * none or it is not a valid one (`problem` then says why, for the log).
 */
export function parseBackendReply(text: string): { reply: Reply | null; problem?: string } {
  if (text.trim() === '') {
    return { reply: null };
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { reply: null, problem: 'the answer is not JSON' };
  }
  if (!isObject(body) || body.reply === undefined || body.reply === null) {
    return { reply: null };
  }
  const reply = body.reply;
  if (!isObject(reply)) {
    return { reply: null, problem: 'reply is not an object' };
  }
  const parsed = toReply(reply);
  return parsed ? { reply: parsed } : { reply: null, problem: `reply of type ${String(reply.type)} is not valid` };
}

function toReply(reply: Json): Reply | null {
  switch (reply.type) {
    case 'text': {
      const content = str(reply.content, 2048);
      return content ? { type: 'text', content } : null;
    }
    case 'image':
    case 'voice': {
      const mediaId = str(reply.mediaId, 256);
      return mediaId ? { type: reply.type, mediaId } : null;
    }
    case 'video': {
      const mediaId = str(reply.mediaId, 256);
      const title = optional(reply.title, 256);
      const description = optional(reply.description, 1024);
      return mediaId && title !== null && description !== null ? { type: 'video', mediaId, title, description } : null;
    }
    case 'music': {
      const thumbMediaId = str(reply.thumbMediaId, 256);
      const parts = [reply.title, reply.description, reply.musicUrl, reply.hqMusicUrl].map((value) =>
        optional(value, 1024),
      );
      if (!thumbMediaId || parts.includes(null)) {
        return null;
      }
      const [title, description, musicUrl, hqMusicUrl] = parts as (string | undefined)[];
      return { type: 'music', title, description, musicUrl, hqMusicUrl, thumbMediaId };
    }
    case 'news': {
      const articles = reply.articles;
      if (!Array.isArray(articles) || articles.length < 1 || articles.length > 8) {
        return null;
      }
      const parsed: NewsArticle[] = [];
      for (const article of articles as unknown[]) {
        if (!isObject(article)) {
          return null;
        }
        const [title, description, picUrl, url] = [article.title, article.description, article.picUrl, article.url].map(
          (value) => (typeof value === 'string' && value.length <= 1024 ? value : null),
        );
        if (title === null || description === null || picUrl === null || url === null) {
          return null;
        }
        parsed.push({ title, description, picUrl, url });
      }
      return { type: 'news', articles: parsed };
    }
    default:
      return null;
  }
}
