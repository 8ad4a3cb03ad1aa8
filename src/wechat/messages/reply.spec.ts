import { buildEncryptedEnvelope, buildReply, Reply } from 'src/wechat/messages/reply';
import { parseXml } from 'src/wechat/xml/xml.codec';

const to = { toUserName: 'o-user', fromUserName: 'gh_account', createTime: 1700000001 };
const head = (type: string) =>
  `<xml><ToUserName><![CDATA[o-user]]></ToUserName><FromUserName><![CDATA[gh_account]]></FromUserName><CreateTime>1700000001</CreateTime><MsgType><![CDATA[${type}]]></MsgType>`;

describe('buildReply', () => {
  it.each<[string, Reply, string]>([
    ['text', { type: 'text', content: '你好 🐼' }, '<Content><![CDATA[你好 🐼]]></Content>'],
    ['image', { type: 'image', mediaId: 'img-1' }, '<Image><MediaId><![CDATA[img-1]]></MediaId></Image>'],
    ['voice', { type: 'voice', mediaId: 'v-1' }, '<Voice><MediaId><![CDATA[v-1]]></MediaId></Voice>'],
    [
      'video',
      { type: 'video', mediaId: 'vid', title: 'T', description: 'D' },
      '<Video><MediaId><![CDATA[vid]]></MediaId><Title><![CDATA[T]]></Title><Description><![CDATA[D]]></Description></Video>',
    ],
    [
      'music',
      {
        type: 'music',
        title: 'T',
        description: 'D',
        musicUrl: 'http://m',
        hqMusicUrl: 'http://hq',
        thumbMediaId: 'th',
      },
      '<Music><Title><![CDATA[T]]></Title><Description><![CDATA[D]]></Description><MusicUrl><![CDATA[http://m]]></MusicUrl><HQMusicUrl><![CDATA[http://hq]]></HQMusicUrl><ThumbMediaId><![CDATA[th]]></ThumbMediaId></Music>',
    ],
    [
      'news',
      {
        type: 'news',
        articles: [
          { title: 'a', description: 'b', picUrl: 'http://p', url: 'http://u' },
          { title: 'c', description: 'd', picUrl: 'http://p2', url: 'http://u2' },
        ],
      },
      '<ArticleCount>2</ArticleCount><Articles><item><Title><![CDATA[a]]></Title><Description><![CDATA[b]]></Description><PicUrl><![CDATA[http://p]]></PicUrl><Url><![CDATA[http://u]]></Url></item><item><Title><![CDATA[c]]></Title><Description><![CDATA[d]]></Description><PicUrl><![CDATA[http://p2]]></PicUrl><Url><![CDATA[http://u2]]></Url></item></Articles>',
    ],
  ])('should build the exact %s reply XML', (type, reply, rest) => {
    expect(buildReply(reply, to)).toBe(`${head(type)}${rest}</xml>`);
  });

  it('should keep a ]]> inside the content as valid XML that reads back the same', () => {
    const content = 'end]]><script>alert(1)</script>';
    const xml = buildReply({ type: 'text', content }, to);
    expect(parseXml(xml).Content).toBe(content);
  });

  it('should refuse a news reply with no or more than 8 articles', () => {
    const article = { title: 't', description: 'd', picUrl: 'p', url: 'u' };
    expect(() => buildReply({ type: 'news', articles: [] }, to)).toThrow(RangeError);
    expect(() => buildReply({ type: 'news', articles: Array(9).fill(article) }, to)).toThrow(RangeError);
    expect(parseXml(buildReply({ type: 'news', articles: Array(8).fill(article) }, to)).ArticleCount).toBe('8');
  });

  it('should build the safe-mode envelope', () => {
    expect(buildEncryptedEnvelope({ encrypt: 'E==', msgSignature: 'sig', timestamp: '1713424427', nonce: 'n1' })).toBe(
      '<xml><Encrypt><![CDATA[E==]]></Encrypt><MsgSignature><![CDATA[sig]]></MsgSignature><TimeStamp>1713424427</TimeStamp><Nonce><![CDATA[n1]]></Nonce></xml>',
    );
  });
});
