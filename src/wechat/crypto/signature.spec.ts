import { verifySignature, wechatSignature } from 'src/wechat/crypto/signature';
import { vectors } from 'test/support/wechat-vectors';

describe(wechatSignature.name, () => {
  it.each(vectors.plainSignature.map((v) => [v.id, v] as const))(
    'should match the official plaintext-mode vector %s',
    (_id, { token, timestamp, nonce, signature }) => {
      expect(wechatSignature([token, timestamp, nonce])).toBe(signature);
      expect(verifySignature(token, [timestamp, nonce], signature)).toBe(true);
      expect(verifySignature(token, [timestamp, nonce], signature.replace(/.$/, '0'))).toBe(false);
    },
  );
});

describe(verifySignature.name, () => {
  const [{ token, timestamp, nonce, signature }] = vectors.plainSignature;

  it('should accept the signature in upper-case hex, as the lower-case one', () => {
    expect(verifySignature(token, [timestamp, nonce], signature.toUpperCase())).toBe(true);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['not a string', ['a']],
    ['one digit short', signature.slice(0, -1)],
    ['one digit long', `${signature}0`],
    ['not hex', `${signature.slice(0, -1)}g`],
    ['the signature twice', `${signature}${signature}`],
  ])('should refuse a signature that is %s', (_what, given) => {
    expect(verifySignature(token, [timestamp, nonce], given)).toBe(false);
  });
});
