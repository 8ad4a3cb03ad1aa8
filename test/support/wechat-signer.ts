import { randomBytes, randomInt } from 'node:crypto';
import { MessageCipher } from 'src/wechat/crypto/message-cipher';
import { verifySignature, wechatSignature } from 'src/wechat/crypto/signature';
import { cdata } from 'src/wechat/xml/xml.codec';
import { parseXml } from 'src/wechat/xml/xml.codec';

/** WeChat's three ways of sending (服务器配置 → 消息加解密方式). */
export type WebhookMode = 'plain' | 'compat' | 'safe';

export interface SignerConfig {
  token: string;
  /** EncodingAESKey, for compat and safe modes. */
  aesKey?: string;
  appId?: string;
}

export interface SignedRequest {
  /** Query parameters as WeChat appends them to the server URL. */
  query: Record<string, string>;
  /** The XML body as WeChat posts it. */
  body: string;
}

export type Fields = Record<string, string | number | Record<string, unknown>[] | undefined>;

let sequence = 0;

/** A MsgId no other test message has (WeChat's are 64-bit decimal numbers). */
export function nextMsgId(): string {
  sequence += 1;
  return `${Date.now()}${String(sequence).padStart(6, '0')}${randomInt(0, 1000)}`;
}

/** Fields WeChat sends as bare numbers. */
const BARE = new Set(['MsgId', 'MsgID', 'CreateTime']);

/** WeChat's XML: strings in CDATA, numbers bare, arrays of objects as repeated `item`s. */
export function toXml(fields: Fields): string {
  const element = (name: string, value: Fields[string]): string => {
    if (value === undefined) {
      return '';
    }
    if (typeof value === 'number' || (BARE.has(name) && /^\d+$/.test(value as string))) {
      return `<${name}>${value}</${name}>`;
    }
    if (Array.isArray(value)) {
      return `<${name}>${value
        .map(
          (item) =>
            `<item>${Object.entries(item)
              .map(([k, v]) => element(k, v as string))
              .join('')}</item>`,
        )
        .join('')}</${name}>`;
    }
    return `<${name}>${cdata(value)}</${name}>`;
  };
  return `<xml>${Object.entries(fields)
    .map(([name, value]) => element(name, value))
    .join('')}</xml>`;
}

export interface MessageSpec {
  from?: string;
  to?: string;
  createTime?: number;
}

const header = (spec: MessageSpec, msgType: string): Fields => ({
  ToUserName: spec.to ?? 'gh_0123456789ab',
  FromUserName: spec.from ?? 'o-follower',
  CreateTime: spec.createTime ?? Math.floor(Date.now() / 1000),
  MsgType: msgType,
});

/** Messages and events shaped as WeChat's documentation shows them (接收普通消息 / 接收事件推送). */
export const wechatMessages = {
  text: (content: string, spec: MessageSpec & { msgId?: string } = {}): string =>
    toXml({ ...header(spec, 'text'), Content: content, MsgId: spec.msgId ?? nextMsgId() }),
  image: (spec: MessageSpec = {}): string =>
    toXml({
      ...header(spec, 'image'),
      PicUrl: 'http://mmbiz.qpic.cn/pic.jpg',
      MediaId: 'media-image',
      MsgId: nextMsgId(),
    }),
  voice: (recognition: string | undefined, spec: MessageSpec = {}): string =>
    toXml({
      ...header(spec, 'voice'),
      MediaId: 'media-voice',
      Format: 'amr',
      Recognition: recognition,
      MsgId: nextMsgId(),
    }),
  video: (spec: MessageSpec = {}, msgType: 'video' | 'shortvideo' = 'video'): string =>
    toXml({ ...header(spec, msgType), MediaId: 'media-video', ThumbMediaId: 'media-thumb', MsgId: nextMsgId() }),
  location: (spec: MessageSpec = {}): string =>
    toXml({
      ...header(spec, 'location'),
      Location_X: 23.134521,
      Location_Y: 113.358803,
      Scale: 20,
      Label: '广州市海珠区',
      MsgId: nextMsgId(),
    }),
  link: (spec: MessageSpec = {}): string =>
    toXml({
      ...header(spec, 'link'),
      Title: '链接',
      Description: '描述',
      Url: 'https://example.com/a',
      MsgId: nextMsgId(),
    }),
  event: (event: string, extra: Fields = {}, spec: MessageSpec = {}): string =>
    toXml({ ...header(spec, 'event'), Event: event, ...extra }),
};

/**
 * Signs (and in compat/safe mode encrypts) a webhook request exactly as WeChat's servers do: `signature` over
 * (Token, timestamp, nonce); with encryption, `msg_signature` over (Token, timestamp, nonce, Encrypt) and a body of
 * `<xml><ToUserName/><Encrypt/></xml>` (safe) or the plaintext fields plus `<Encrypt/>` (compat).
 */
export class WeChatSigner {
  private readonly cipher?: MessageCipher;

  constructor(readonly config: SignerConfig) {
    if (config.aesKey) {
      this.cipher = new MessageCipher([config.aesKey], config.appId ?? '');
    }
  }

  verification(echostr: string, timestamp = String(Math.floor(Date.now() / 1000))): Record<string, string> {
    const nonce = String(randomInt(100_000_000, 999_999_999));
    return { signature: wechatSignature([this.config.token, timestamp, nonce]), timestamp, nonce, echostr };
  }

  sign(xml: string, mode: WebhookMode = 'plain', openid = 'o-follower'): SignedRequest {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const nonce = String(randomInt(100_000_000, 999_999_999));
    const query: Record<string, string> = {
      signature: wechatSignature([this.config.token, timestamp, nonce]),
      timestamp,
      nonce,
      openid,
    };
    if (mode === 'plain') {
      return { query, body: xml };
    }
    if (!this.cipher) {
      throw new Error('compat and safe modes need an aesKey');
    }
    const encrypt = this.cipher.encrypt(xml, randomBytes(16));
    query.encrypt_type = 'aes';
    query.msg_signature = wechatSignature([this.config.token, timestamp, nonce, encrypt]);
    // Found without parsing, so that deliberately broken messages can be signed too.
    const toUserName = /<ToUserName><!\[CDATA\[([^\]]*)\]\]><\/ToUserName>/.exec(xml)?.[1] ?? '';
    const body =
      mode === 'safe'
        ? `<xml><ToUserName>${cdata(toUserName)}</ToUserName><Encrypt>${cdata(encrypt)}</Encrypt></xml>`
        : xml.replace(/<\/xml>\s*$/, `<Encrypt>${cdata(encrypt)}</Encrypt></xml>`);
    return { query, body };
  }

  /**
   * What WeChat does with an encrypted reply: checks MsgSignature and opens Encrypt. Returns the reply XML, or the
   * body itself when it is not an encrypted envelope (e.g. `success`).
   */
  openReply(body: string): string {
    if (!this.cipher || !body.includes('<Encrypt>')) {
      return body;
    }
    const envelope = parseXml(body);
    const parts = [String(envelope.TimeStamp), String(envelope.Nonce), String(envelope.Encrypt)];
    if (!verifySignature(this.config.token, parts, envelope.MsgSignature)) {
      throw new Error('the reply MsgSignature does not verify');
    }
    return this.cipher.decrypt(String(envelope.Encrypt)).xml;
  }
}
