import { AppException } from 'src/common/errors/app-exception';
import type { Reply } from 'src/wechat/messages/reply';
import { ACCOUNT_RULES } from 'src/accounts/account-rules';

export const MESSAGE_KINDS = ['custom', 'template', 'subscribe'] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];

export const CUSTOM_MSGTYPES = [
  'text',
  'image',
  'voice',
  'video',
  'music',
  'news',
  'mpnews',
  'miniprogrampage',
] as const;

/** A message to queue: who gets it, from which account, and the exact body WeChat's send API takes. */
export interface NewMessage {
  kind: MessageKind;
  /** Left out: the default account of the kind (official account for custom/template, mini-program for subscribe). */
  appid?: string;
  touser: string;
  payload: Record<string, unknown>;
  idempotencyKey?: string;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const bad = (message: string): AppException => AppException.badRequest(message);

function text(
  body: Json,
  field: string,
  name: string,
  options: { optional?: boolean; max?: number } = {},
): string | undefined {
  const value = body[field];
  if (value === undefined && options.optional) {
    return undefined;
  }
  if (typeof value !== 'string' || value.length === 0) {
    throw bad(`${name} must be a non-empty string`);
  }
  if (options.max !== undefined && value.length > options.max) {
    throw bad(`${name} must be at most ${options.max} characters`);
  }
  return value;
}

function object(body: Json, field: string, name: string): Json {
  const value = body[field];
  if (!isObject(value)) {
    throw bad(`${name} must be an object`);
  }
  return value;
}

/** Copies the given string fields of `source` (WeChat's names), checking each; the rest of `source` is refused. */
function fields(source: Json, name: string, required: string[], optional: string[] = []): Json {
  const allowed = new Set([...required, ...optional]);
  const unknown = Object.keys(source).find((key) => !allowed.has(key));
  if (unknown) {
    throw bad(`${name}.${unknown} is not a field of this message`);
  }
  const out: Json = {};
  for (const key of required) {
    out[key] = text(source, key, `${name}.${key}`, { max: 2048 });
  }
  for (const key of optional) {
    const value = text(source, key, `${name}.${key}`, { optional: true, max: 2048 });
    if (value !== undefined) {
      out[key] = value;
    }
  }
  return out;
}

/** Each custom msgtype's object, in WeChat's JSON (客服消息接口). */
function customContent(msgtype: string, body: Json): Json {
  const name = msgtype;
  const content = object(body, msgtype, name);
  switch (msgtype) {
    case 'text':
      return fields(content, name, ['content']);
    case 'image':
    case 'voice':
    case 'mpnews':
      return fields(content, name, ['media_id']);
    case 'video':
      return fields(content, name, ['media_id'], ['thumb_media_id', 'title', 'description']);
    case 'music':
      return fields(content, name, ['musicurl', 'hqmusicurl', 'thumb_media_id'], ['title', 'description']);
    case 'miniprogrampage':
      return fields(content, name, ['title', 'appid', 'pagepath', 'thumb_media_id']);
    case 'news': {
      const unknown = Object.keys(content).find((key) => key !== 'articles');
      if (unknown) {
        throw bad(`news.${unknown} is not a field of this message`);
      }
      const articles = content.articles;
      // WeChat's customer-service news carries one article (since 2018).
      if (!Array.isArray(articles) || articles.length !== 1) {
        throw bad('news.articles must hold exactly 1 article');
      }
      return {
        articles: articles.map((article: unknown, index) => {
          if (!isObject(article)) {
            throw bad(`news.articles[${index}] must be an object`);
          }
          return fields(article, `news.articles[${index}]`, ['title'], ['description', 'url', 'picurl']);
        }),
      };
    }
    default:
      throw bad(`msgtype must be one of ${CUSTOM_MSGTYPES.join(', ')}`);
  }
}

/**
 * The length limits WeChat puts on template and subscribe values, by the key's type prefix (thing1, name2, …): a
 * `thing` is at most 20 characters, and so on. Keys of other types are sent as given.
 */
const VALUE_LIMITS: [RegExp, number][] = [
  [/^thing\d+$/, 20],
  [/^name\d+$/, 10],
  [/^phrase\d+$/, 5],
  [/^symbol\d+$/, 5],
  [/^car_number\d+$/, 8],
  [/^(character_string|number|letter)\d+$/, 32],
];

function templateData(body: Json, allowColor: boolean): Json {
  const data = object(body, 'data', 'data');
  const keys = Object.keys(data);
  if (keys.length === 0) {
    throw bad('data must have at least one key');
  }
  const out: Json = {};
  for (const key of keys) {
    const entry = data[key];
    if (!isObject(entry)) {
      throw bad(`data.${key} must be an object {"value": …}`);
    }
    const unknown = Object.keys(entry).find((field) => field !== 'value' && !(allowColor && field === 'color'));
    if (unknown) {
      throw bad(`data.${key}.${unknown} is not a field of a template value`);
    }
    if (typeof entry.value !== 'string') {
      throw bad(`data.${key}.value must be a string`);
    }
    const limit = VALUE_LIMITS.find(([pattern]) => pattern.test(key))?.[1];
    if (limit !== undefined && [...entry.value].length > limit) {
      throw bad(`data.${key}.value must be at most ${limit} characters (WeChat's limit for this type)`);
    }
    out[key] =
      entry.color === undefined
        ? { value: entry.value }
        : { value: entry.value, color: text(entry, 'color', `data.${key}.color`) };
  }
  return out;
}

const OPENID = /^[A-Za-z0-9_-]{6,64}$/;

function common(body: Json, allowed: string[]): { appid?: string; touser: string; idempotencyKey?: string } {
  const unknown = Object.keys(body).find(
    (key) => !allowed.includes(key) && !['kind', 'appid', 'touser', 'idempotencyKey'].includes(key),
  );
  if (unknown) {
    throw bad(`${unknown} is not a field of a ${String(body.kind)} message`);
  }
  const appid = text(body, 'appid', 'appid', { optional: true });
  if (appid !== undefined && !ACCOUNT_RULES.appid.pattern.test(appid)) {
    throw bad('appid must be an AppID such as wx1234567890abcdef');
  }
  const touser = text(body, 'touser', 'touser')!;
  if (!OPENID.test(touser)) {
    throw bad('touser must be an openid');
  }
  const idempotencyKey = text(body, 'idempotencyKey', 'idempotencyKey', { optional: true, max: 128 });
  return { appid, touser, idempotencyKey };
}

/** Checks a POST /admin/messages body and builds the exact WeChat JSON; a bad field is a 400 naming it. */
export function parseNewMessage(body: unknown): NewMessage {
  if (!isObject(body)) {
    throw bad('The body must be a JSON object');
  }
  switch (body.kind) {
    case 'custom': {
      const msgtype = text(body, 'msgtype', 'msgtype')!;
      if (!(CUSTOM_MSGTYPES as readonly string[]).includes(msgtype)) {
        throw bad(`msgtype must be one of ${CUSTOM_MSGTYPES.join(', ')}`);
      }
      const { appid, touser, idempotencyKey } = common(body, ['msgtype', msgtype, 'customservice']);
      const payload: Json = { touser, msgtype, [msgtype]: customContent(msgtype, body) };
      if (body.customservice !== undefined) {
        payload.customservice = fields(object(body, 'customservice', 'customservice'), 'customservice', ['kf_account']);
      }
      return { kind: 'custom', appid, touser, payload, idempotencyKey };
    }
    case 'template': {
      const { appid, touser, idempotencyKey } = common(body, ['templateId', 'url', 'miniprogram', 'data']);
      const payload: Json = { touser, template_id: text(body, 'templateId', 'templateId', { max: 128 }) };
      const url = text(body, 'url', 'url', { optional: true, max: 1024 });
      if (url !== undefined) {
        if (!/^https?:\/\//.test(url)) {
          throw bad('url must be an http(s):// URL');
        }
        payload.url = url;
      }
      if (body.miniprogram !== undefined) {
        payload.miniprogram = fields(
          object(body, 'miniprogram', 'miniprogram'),
          'miniprogram',
          ['appid'],
          ['pagepath'],
        );
      }
      payload.data = templateData(body, true);
      return { kind: 'template', appid, touser, payload, idempotencyKey };
    }
    case 'subscribe': {
      const { appid, touser, idempotencyKey } = common(body, [
        'templateId',
        'page',
        'miniprogramState',
        'lang',
        'data',
      ]);
      const payload: Json = { touser, template_id: text(body, 'templateId', 'templateId', { max: 128 }) };
      const page = text(body, 'page', 'page', { optional: true, max: 1024 });
      if (page !== undefined) {
        payload.page = page;
      }
      if (body.miniprogramState !== undefined) {
        if (!['developer', 'trial', 'formal'].includes(body.miniprogramState as string)) {
          throw bad('miniprogramState must be one of developer, trial, formal');
        }
        payload.miniprogram_state = body.miniprogramState;
      }
      if (body.lang !== undefined) {
        if (!['zh_CN', 'en_US', 'zh_HK', 'zh_TW'].includes(body.lang as string)) {
          throw bad('lang must be one of zh_CN, en_US, zh_HK, zh_TW');
        }
        payload.lang = body.lang;
      }
      payload.data = templateData(body, false);
      return { kind: 'subscribe', appid, touser, payload, idempotencyKey };
    }
    default:
      throw bad(`kind must be one of ${MESSAGE_KINDS.join(', ')}`);
  }
}

/** A passive reply (an auto-reply `reply`, or the team backend's) as the customer-service message that says the same. */
export function replyAsCustomMessage(touser: string, reply: Reply): Json {
  switch (reply.type) {
    case 'text':
      return { touser, msgtype: 'text', text: { content: reply.content } };
    case 'image':
      return { touser, msgtype: 'image', image: { media_id: reply.mediaId } };
    case 'voice':
      return { touser, msgtype: 'voice', voice: { media_id: reply.mediaId } };
    case 'video':
      return {
        touser,
        msgtype: 'video',
        video: { media_id: reply.mediaId, title: reply.title ?? '', description: reply.description ?? '' },
      };
    case 'music':
      return {
        touser,
        msgtype: 'music',
        music: {
          title: reply.title ?? '',
          description: reply.description ?? '',
          musicurl: reply.musicUrl ?? '',
          hqmusicurl: reply.hqMusicUrl ?? '',
          thumb_media_id: reply.thumbMediaId,
        },
      };
    case 'news':
      return {
        touser,
        msgtype: 'news',
        news: {
          articles: reply.articles.map((article) => ({
            title: article.title,
            description: article.description,
            url: article.url,
            picurl: article.picUrl,
          })),
        },
      };
  }
}
