import { createHmac } from 'node:crypto';
import { forwardBody, forwardId, forwardSignature, parseBackendReply } from 'src/messaging/forward-message';
import type { InboundMessage } from 'src/wechat/messages/inbound-message';

describe('forward messages', () => {
  const text: InboundMessage = {
    kind: 'message',
    msgType: 'text',
    toUserName: 'gh_1',
    fromUserName: 'o-user',
    createTime: 1700000000,
    msgId: '42',
    content: '你好',
    raw: {
      ToUserName: 'gh_1',
      FromUserName: 'o-user',
      CreateTime: '1700000000',
      MsgType: 'text',
      Content: '你好',
      MsgId: '42',
    },
  };

  it('should build the contract JSON with every other field as a string', () => {
    expect(JSON.parse(forwardBody('id-1', 'wxapp', text))).toEqual({
      id: 'id-1',
      appid: 'wxapp',
      openid: 'o-user',
      msgType: 'text',
      msgId: '42',
      createTime: 1700000000,
      fields: { Content: '你好' },
    });
  });

  it('should sign the raw bytes with HMAC-SHA256 as sha256=<hex>', () => {
    const body = forwardBody('id-1', 'wxapp', text);
    const expected = createHmac('sha256', 'secret-0123456789').update(Buffer.from(body, 'utf8')).digest('hex');
    expect(forwardSignature('secret-0123456789', body)).toBe(`sha256=${expected}`);
    // A fixed vector, so a change of encoding shows.
    expect(forwardSignature('key', 'The quick brown fox jumps over the lazy dog')).toBe(
      'sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8',
    );
  });

  it.each([
    ['{"reply":{"type":"text","content":"hi"}}', { type: 'text', content: 'hi' }],
    ['{"reply":{"type":"image","mediaId":"m"}}', { type: 'image', mediaId: 'm' }],
    ['{"reply":null}', null],
    ['{}', null],
    ['', null],
    ['{"reply":{"type":"text"}}', null],
    ['{"reply":{"type":"fax"}}', null],
    ['not json', null],
  ])('should read %s as %j', (answer, reply) => {
    expect(parseBackendReply(answer).reply).toEqual(reply);
  });

  it('should give one message one id, a UUID, and other messages other ids', () => {
    const id = forwardId('gh_1', 'msg:42');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(forwardId('gh_1', 'msg:42')).toBe(id);
    expect(new Set([id, forwardId('gh_2', 'msg:42'), forwardId('gh_1', 'msg:43')]).size).toBe(3);
  });
});
