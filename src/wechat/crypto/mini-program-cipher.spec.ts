import {
  MiniProgramCipher,
  MiniProgramCipherError,
  sessionSignature,
  verifySessionSignature,
} from 'src/wechat/crypto/mini-program-cipher';
import { vectors } from 'test/support/wechat-vectors';

describe(MiniProgramCipher.name, () => {
  const vector = vectors.miniProgramDecrypt[0];

  it('should decrypt the official encryptedData vector', () => {
    const sut = new MiniProgramCipher(vector.appid);
    const data = sut.decrypt(vector.sessionKey, vector.iv, vector.encryptedData);
    expect(data).toMatchObject({
      openId: vector.expect.openId,
      unionId: vector.expect.unionId,
      watermark: { appid: vector.expect.watermarkAppid },
    });
  });

  it('should refuse data whose watermark names another appid', () => {
    const sut = new MiniProgramCipher('wxsomebodyelse');
    expect(() => sut.decrypt(vector.sessionKey, vector.iv, vector.encryptedData)).toThrow(MiniProgramCipherError);
  });

  it('should refuse data opened with the wrong session_key', () => {
    const sut = new MiniProgramCipher(vector.appid);
    expect(() => sut.decrypt('AAAAAAAAAAAAAAAAAAAAAA==', vector.iv, vector.encryptedData)).toThrow(
      MiniProgramCipherError,
    );
  });

  it('should match the official session signature vector', () => {
    const { sessionKey, message, signature } = vectors.sessionSignature[0];
    expect(sessionSignature(sessionKey, message)).toBe(signature);
    expect(verifySessionSignature(sessionKey, message, signature)).toBe(true);
    expect(verifySessionSignature(sessionKey, `${message} `, signature)).toBe(false);
  });
});
