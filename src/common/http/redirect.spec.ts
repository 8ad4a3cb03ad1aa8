import { encodeLocation } from 'src/common/http/redirect';

describe('encodeLocation', () => {
  it('should keep an already encoded URL as it is', () => {
    const url = 'https://open.weixin.qq.com/connect/oauth2/authorize?a=1&redirect_uri=https%3A%2F%2Fx#wechat_redirect';
    expect(encodeLocation(url)).toBe(url);
  });

  it('should encode non-ASCII text, spaces, quotes and a stray percent sign', () => {
    expect(encodeLocation('/订单?q=a b"<>%zz%41')).toBe('/%E8%AE%A2%E5%8D%95?q=a%20b%22%3C%3E%25zz%41');
  });

  it('should replace a lone surrogate', () => {
    expect(encodeLocation('/x\uD800')).toBe('/x%EF%BF%BD');
  });
});
