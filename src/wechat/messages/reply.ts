import { numberElement, textElement } from 'src/wechat/xml/xml.codec';

export interface NewsArticle {
  title: string;
  description: string;
  picUrl: string;
  url: string;
}

/** What to answer: the passive-reply types (被动回复用户消息). */
export type Reply =
  | { type: 'text'; content: string }
  | { type: 'image'; mediaId: string }
  | { type: 'voice'; mediaId: string }
  | { type: 'video'; mediaId: string; title?: string; description?: string }
  | {
      type: 'music';
      title?: string;
      description?: string;
      musicUrl?: string;
      hqMusicUrl?: string;
      thumbMediaId: string;
    }
  | { type: 'news'; articles: NewsArticle[] };

export interface ReplyAddress {
  /** The follower's openid (the inbound FromUserName). */
  toUserName: string;
  /** The official account's id (the inbound ToUserName). */
  fromUserName: string;
  createTime: number;
}

export const MAX_NEWS_ARTICLES = 8;

function body(reply: Reply): string {
  switch (reply.type) {
    case 'text':
      return textElement('Content', reply.content);
    case 'image':
      return `<Image>${textElement('MediaId', reply.mediaId)}</Image>`;
    case 'voice':
      return `<Voice>${textElement('MediaId', reply.mediaId)}</Voice>`;
    case 'video':
      return `<Video>${textElement('MediaId', reply.mediaId)}${textElement('Title', reply.title ?? '')}${textElement('Description', reply.description ?? '')}</Video>`;
    case 'music':
      return (
        '<Music>' +
        textElement('Title', reply.title ?? '') +
        textElement('Description', reply.description ?? '') +
        textElement('MusicUrl', reply.musicUrl ?? '') +
        textElement('HQMusicUrl', reply.hqMusicUrl ?? '') +
        textElement('ThumbMediaId', reply.thumbMediaId) +
        '</Music>'
      );
    case 'news': {
      if (reply.articles.length < 1 || reply.articles.length > MAX_NEWS_ARTICLES) {
        throw new RangeError(`a news reply carries 1 to ${MAX_NEWS_ARTICLES} articles`);
      }
      const items = reply.articles
        .map(
          (article) =>
            `<item>${textElement('Title', article.title)}${textElement('Description', article.description)}${textElement('PicUrl', article.picUrl)}${textElement('Url', article.url)}</item>`,
        )
        .join('');
      return `${numberElement('ArticleCount', reply.articles.length)}<Articles>${items}</Articles>`;
    }
  }
}

/** The passive reply XML for `reply`, addressed back to the sender of the inbound message. */
export function buildReply(reply: Reply, address: ReplyAddress): string {
  return (
    '<xml>' +
    textElement('ToUserName', address.toUserName) +
    textElement('FromUserName', address.fromUserName) +
    numberElement('CreateTime', address.createTime) +
    textElement('MsgType', reply.type) +
    body(reply) +
    '</xml>'
  );
}

/** The safe-mode reply envelope around an encrypted reply. */
export function buildEncryptedEnvelope(fields: {
  encrypt: string;
  msgSignature: string;
  timestamp: string;
  nonce: string;
}): string {
  return (
    '<xml>' +
    textElement('Encrypt', fields.encrypt) +
    textElement('MsgSignature', fields.msgSignature) +
    numberElement('TimeStamp', fields.timestamp) +
    textElement('Nonce', fields.nonce) +
    '</xml>'
  );
}
