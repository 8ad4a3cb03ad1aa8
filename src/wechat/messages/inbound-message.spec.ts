import { dedupeKey, InboundMessageError, parseInbound } from 'src/wechat/messages/inbound-message';
import { parseXml } from 'src/wechat/xml/xml.codec';

const head = (type: string) =>
  `<ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[o-user]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[${type}]]></MsgType>`;
const parse = (type: string, rest: string) => parseInbound(parseXml(`<xml>${head(type)}${rest}</xml>`));
const event = (name: string, rest = '') => parse('event', `<Event><![CDATA[${name}]]></Event>${rest}`);
const base = { toUserName: 'gh_account', fromUserName: 'o-user', createTime: 1700000000 };

describe('parseInbound', () => {
  it.each([
    ['text', '<Content><![CDATA[你好]]></Content><MsgId>1</MsgId>', { msgType: 'text', content: '你好', msgId: '1' }],
    [
      'image',
      '<PicUrl><![CDATA[http://p/1.jpg]]></PicUrl><MediaId><![CDATA[m1]]></MediaId><MsgId>2</MsgId>',
      { msgType: 'image', picUrl: 'http://p/1.jpg', mediaId: 'm1', msgId: '2' },
    ],
    [
      'voice',
      '<MediaId><![CDATA[m2]]></MediaId><Format><![CDATA[amr]]></Format><Recognition><![CDATA[腾讯微信团队]]></Recognition><MsgId>3</MsgId>',
      { msgType: 'voice', mediaId: 'm2', format: 'amr', recognition: '腾讯微信团队', msgId: '3' },
    ],
    [
      'video',
      '<MediaId><![CDATA[m3]]></MediaId><ThumbMediaId><![CDATA[t3]]></ThumbMediaId><MsgId>4</MsgId>',
      { msgType: 'video', mediaId: 'm3', thumbMediaId: 't3', msgId: '4' },
    ],
    [
      'shortvideo',
      '<MediaId><![CDATA[m4]]></MediaId><ThumbMediaId><![CDATA[t4]]></ThumbMediaId><MsgId>5</MsgId>',
      { msgType: 'shortvideo', mediaId: 'm4', thumbMediaId: 't4', msgId: '5' },
    ],
    [
      'location',
      '<Location_X>23.134521</Location_X><Location_Y>113.358803</Location_Y><Scale>20</Scale><Label><![CDATA[位置信息]]></Label><MsgId>6</MsgId>',
      { msgType: 'location', latitude: 23.134521, longitude: 113.358803, scale: 20, label: '位置信息', msgId: '6' },
    ],
    [
      'link',
      '<Title><![CDATA[公众平台官网链接]]></Title><Description><![CDATA[d]]></Description><Url><![CDATA[http://u]]></Url><MsgId>7</MsgId>',
      { msgType: 'link', title: '公众平台官网链接', description: 'd', url: 'http://u', msgId: '7' },
    ],
  ])('should type a %s message', (type, rest, expected) => {
    expect(parse(type, rest)).toMatchObject({ ...base, kind: 'message', ...expected });
  });

  it('should leave Recognition undefined when voice recognition is off', () => {
    expect(parse('voice', '<MediaId>m</MediaId><Format>amr</Format><MsgId>8</MsgId>')).toMatchObject({
      recognition: undefined,
    });
  });

  it.each([
    ['subscribe', '', { event: 'subscribe', eventKey: undefined, scene: undefined }],
    [
      'subscribe',
      '<EventKey><![CDATA[qrscene_123123]]></EventKey><Ticket><![CDATA[TICKET]]></Ticket>',
      { event: 'subscribe', eventKey: 'qrscene_123123', scene: '123123', ticket: 'TICKET' },
    ],
    ['unsubscribe', '', { event: 'unsubscribe' }],
    [
      'SCAN',
      '<EventKey><![CDATA[SCENE_VALUE]]></EventKey><Ticket><![CDATA[TICKET]]></Ticket>',
      { event: 'SCAN', eventKey: 'SCENE_VALUE', ticket: 'TICKET' },
    ],
    [
      'LOCATION',
      '<Latitude>23.137466</Latitude><Longitude>113.352425</Longitude><Precision>119.385040</Precision>',
      { event: 'LOCATION', latitude: 23.137466, longitude: 113.352425, precision: 119.38504 },
    ],
    ['CLICK', '<EventKey><![CDATA[V1001_TODAY_MUSIC]]></EventKey>', { event: 'CLICK', eventKey: 'V1001_TODAY_MUSIC' }],
    ['VIEW', '<EventKey><![CDATA[http://www.qq.com/]]></EventKey>', { event: 'VIEW', eventKey: 'http://www.qq.com/' }],
  ])('should type a %s event', (name, rest, expected) => {
    expect(event(name, rest)).toMatchObject({ ...base, kind: 'event', msgType: 'event', ...expected });
  });

  it('should keep an unknown event raw', () => {
    const message = event('TEMPLATESENDJOBFINISH', '<MsgID>200163836</MsgID><Status><![CDATA[success]]></Status>');
    expect(message).toMatchObject({ kind: 'unknown', event: 'TEMPLATESENDJOBFINISH', msgId: '200163836' });
    expect(message.raw.Status).toBe('success');
  });

  it('should keep an unknown message type raw', () => {
    expect(parse('miniprogrampage', '<Title>t</Title><MsgId>9</MsgId>')).toMatchObject({
      kind: 'unknown',
      msgType: 'miniprogrampage',
      msgId: '9',
    });
  });

  it.each([
    ['no FromUserName', '<xml><ToUserName>a</ToUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>'],
    ['a CreateTime that is not a number', `<xml>${head('text').replace('1700000000', 'soon')}</xml>`],
    ['no MsgType', '<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime></xml>'],
  ])('should refuse a message with %s', (_label, xml) => {
    expect(() => parseInbound(parseXml(xml))).toThrow(InboundMessageError);
  });

  it('should key messages by MsgId and events by sender, time and event', () => {
    expect(dedupeKey(parse('text', '<Content>a</Content><MsgId>42</MsgId>'))).toBe('msg:42');
    expect(dedupeKey(event('subscribe'))).toBe('event:o-user:1700000000:subscribe');
    expect(dedupeKey(event('CLICK', '<EventKey>k</EventKey>'))).toBe('event:o-user:1700000000:CLICK');
  });
});
