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
