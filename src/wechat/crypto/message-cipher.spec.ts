import * as nodeCrypto from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { MessageCipher, MessageCipherError, decodeAesKey } from 'src/wechat/crypto/message-cipher';
import { pkcs7Pad, pkcs7Unpad } from 'src/wechat/crypto/pkcs7';
import { verifySignature, wechatSignature } from 'src/wechat/crypto/signature';
import { vectors } from 'test/support/wechat-vectors';

const KEY_A = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const KEY_B = 'ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut';

describe(MessageCipher.name, () => {
  describe('official vectors', () => {
    it.each(vectors.messageEncrypt.map((v) => [v.id, v] as const))(
      'should encrypt vector %s to exactly the official ciphertext',
      (_id, vector) => {
        const sut = new MessageCipher([vector.encodingAESKey], vector.appid);
        expect(sut.encrypt(vector.message, Buffer.from(vector.random, 'utf8'))).toBe(vector.encrypt);
      },
    );

    it.each(vectors.messageEncrypt.map((v) => [v.id, v] as const))(
      'should decrypt the ciphertext of vector %s back to its message',
      (_id, vector) => {
        const sut = new MessageCipher([vector.encodingAESKey], vector.appid);
        expect(sut.decrypt(vector.encrypt)).toEqual({ xml: vector.message, appId: vector.appid, keyIndex: 0 });
      },
    );

    it('should sign the encrypted reply of vector E-reply with the official msg_signature', () => {
      const vector = vectors.messageEncrypt.find((v) => v.id === 'E-reply')!;
      expect(wechatSignature([vector.token, vector.timestamp!, vector.nonce!, vector.encrypt])).toBe(
        vector.msgSignature,
      );
    });

    it.each(vectors.messageDecrypt.map((v) => [v.id, v] as const))(
      'should verify the msg_signature and decrypt vector %s',
      (_id, vector) => {
        expect(
          verifySignature(vector.token, [vector.timestamp, vector.nonce, vector.encrypt], vector.msgSignature),
        ).toBe(true);
        const sut = new MessageCipher([vector.encodingAESKey], vector.appid);
        const opened = sut.decrypt(vector.encrypt);
        expect(opened.appId).toBe(vector.appid);
        if ('message' in vector && vector.message) {
          expect(opened.xml).toBe(vector.message);
        }
        if ('messageLength' in vector && vector.messageLength) {
          expect(Buffer.byteLength(opened.xml, 'utf8')).toBe(vector.messageLength);
          expect(opened.xml).toContain(vector.messageContains);
        }
      },
    );

    it.each(vectors.plainSignature.map((v) => [v.id, v] as const))(
      'should accept the plaintext-mode signature of vector %s',
      (_id, vector) => {
        expect(wechatSignature([vector.token, vector.timestamp, vector.nonce])).toBe(vector.signature);
        expect(verifySignature(vector.token, [vector.timestamp, vector.nonce], vector.signature)).toBe(true);
        expect(verifySignature(vector.token, [vector.timestamp, '1'], vector.signature)).toBe(false);
        expect(verifySignature('other', [vector.timestamp, vector.nonce], vector.signature)).toBe(false);
        expect(verifySignature(vector.token, [vector.timestamp, vector.nonce], undefined)).toBe(false);
      },
    );
  });

  describe('round trips', () => {
    it.each([
      ['empty', ''],
      ['ascii', '<xml><Content><![CDATA[hello]]></Content></xml>'],
      ['emoji and Chinese', '<xml><Content><![CDATA[你好 🐼 ]]]]><![CDATA[>]]></Content></xml>'],
      ['exactly a block', 'x'.repeat(32 - 20 - 'wxappid'.length)],
      ['long', 'y'.repeat(10_000)],
    ])('should give back the %s message', (_label, message) => {
      const sut = new MessageCipher([KEY_A], 'wxappid');
      const encrypted = sut.encrypt(message);
      expect(Buffer.from(encrypted, 'base64').length % 32).toBe(0);
      expect(sut.decrypt(encrypted).xml).toBe(message);
    });

    it('should use fresh random bytes so equal messages give different ciphertexts', () => {
      const sut = new MessageCipher([KEY_A], 'wxappid');
      expect(sut.encrypt('same')).not.toBe(sut.encrypt('same'));
    });

    it('should still open a message sealed with the previous key after a rotation', () => {
      const before = new MessageCipher([KEY_B], 'wxappid');
      const sut = new MessageCipher([KEY_A, KEY_B], 'wxappid');
      expect(sut.decrypt(before.encrypt('old key'))).toEqual({ xml: 'old key', appId: 'wxappid', keyIndex: 1 });
      expect(sut.decrypt(sut.encrypt('new key')).keyIndex).toBe(0);
    });
  });

  describe('refusals', () => {
    const sut = new MessageCipher([KEY_A], 'wxappid');
    const reasonOf = (encrypt: string): string => {
      try {
        sut.decrypt(encrypt);
      } catch (error) {
        return (error as MessageCipherError).reason;
      }
      return 'accepted';
    };

    it('should refuse a message sealed for another appid', () => {
      expect(reasonOf(new MessageCipher([KEY_A], 'wxother').encrypt('hi'))).toBe('appid_mismatch');
    });

    it('should refuse a message sealed with an unknown key', () => {
      expect(['bad_padding', 'bad_length', 'appid_mismatch']).toContain(
        reasonOf(new MessageCipher([KEY_B], 'wxappid').encrypt('hi')),
      );
    });

    it('should refuse text that is not base64 or not whole blocks', () => {
      expect(reasonOf('!!!not base64!!!')).toBe('bad_base64');
      expect(reasonOf(Buffer.alloc(20).toString('base64'))).toBe('bad_length');
      expect(reasonOf('')).toBe('bad_base64');
    });

    it('should refuse a declared length longer than the payload', () => {
      const key = decodeAesKey(KEY_A);
      const plain = Buffer.concat([
        randomBytes(16),
        Buffer.from([0, 0, 1, 0]),
        Buffer.from('short'),
        Buffer.from('wxappid'),
      ]);
      const { createCipheriv } = nodeCrypto;
      const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
      cipher.setAutoPadding(false);
      const encrypt = Buffer.concat([cipher.update(pkcs7Pad(plain)), cipher.final()]).toString('base64');
      expect(reasonOf(encrypt)).toBe('bad_length');
    });

    it('should refuse bad padding', () => {
      const key = decodeAesKey(KEY_A);
      const { createCipheriv } = nodeCrypto;
      const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
      cipher.setAutoPadding(false);
      const block = Buffer.alloc(32, 0x41);
      block[31] = 40;
      expect(reasonOf(Buffer.concat([cipher.update(block), cipher.final()]).toString('base64'))).toBe('bad_padding');
    });

    it('should refuse an EncodingAESKey that is not 43 characters', () => {
      expect(() => new MessageCipher(['short'], 'wxappid')).toThrow(MessageCipherError);
    });
  });
});

describe('pkcs7', () => {
  it('should pad to 32-byte blocks, a full block when already aligned', () => {
    expect(pkcs7Pad(Buffer.alloc(10)).length).toBe(32);
    expect(pkcs7Pad(Buffer.alloc(32))).toEqual(Buffer.concat([Buffer.alloc(32), Buffer.alloc(32, 32)]));
    expect(pkcs7Unpad(pkcs7Pad(Buffer.from('abc'))).toString()).toBe('abc');
  });

  it('should refuse padding bytes that disagree with the length', () => {
    const padded = pkcs7Pad(Buffer.from('abc'));
    padded[padded.length - 2] = 1;
    expect(() => pkcs7Unpad(padded)).toThrow('bad padding bytes');
    expect(() => pkcs7Unpad(Buffer.alloc(32, 0))).toThrow('bad padding length');
  });
});
