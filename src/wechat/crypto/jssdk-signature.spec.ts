import { jssdkSignature } from 'src/wechat/crypto/jssdk-signature';
import { vectors } from 'test/support/wechat-vectors';

describe(jssdkSignature.name, () => {
  const official = vectors.jssdkSignature.find((vector) => vector.id === 'JS');

  it('should have the official vector JS to test against', () => {
    expect(official).toBeDefined();
  });

  it.each(vectors.jssdkSignature.map((v) => [v.id, v] as const))(
    'should match the official JS-SDK vector %s',
    (_id, { jsapi_ticket, noncestr, timestamp, url, signature }) => {
      expect(jssdkSignature({ jsapiTicket: jsapi_ticket, nonceStr: noncestr, timestamp, url })).toBe(signature);
    },
  );

  it('should accept the timestamp as a number and never sign the fragment', () => {
    const { jsapi_ticket, noncestr, timestamp, url, signature } = official!;
    expect(jssdkSignature({ jsapiTicket: jsapi_ticket, nonceStr: noncestr, timestamp: Number(timestamp), url })).toBe(
      signature,
    );
    expect(jssdkSignature({ jsapiTicket: jsapi_ticket, nonceStr: noncestr, timestamp, url: `${url}#/a?b=c#d` })).toBe(
      signature,
    );
  });

  it('should sign the values raw: an escaped and an unescaped query give different signatures', () => {
    const base = { jsapiTicket: 'ticket', nonceStr: 'nonce', timestamp: '1414587457' };
    const raw = jssdkSignature({ ...base, url: 'https://h5.example.com/?q=你' });
    const escaped = jssdkSignature({ ...base, url: 'https://h5.example.com/?q=%E4%BD%A0' });
    expect(raw).toMatch(/^[0-9a-f]{40}$/);
    expect(escaped).not.toBe(raw);
    // `printf '%s' 'jsapi_ticket=ticket&noncestr=nonce&timestamp=1414587457&url=https://h5.example.com/?q=%E4%BD%A0' | sha1sum`
    expect(escaped).toBe('878c81dbfad0b22867005715866decb7bbece490');
  });
});
