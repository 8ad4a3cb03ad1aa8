import { createDecipheriv, createHmac } from 'node:crypto';
import { safeEqual } from 'src/common/safe-equal';
import { PaddingError, pkcs7Unpad } from 'src/wechat/crypto/pkcs7';

export class MiniProgramCipherError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MiniProgramCipherError';
  }
}

/**
 * Mini-program open data (开放数据校验与解密): AES-128-CBC with key = base64 session_key, the given IV, PKCS#7
 * (checked by hand up to 32 bytes, as WeChat's samples do), JSON inside with `watermark.appid` that must be ours.
 */
export class MiniProgramCipher {
  constructor(private readonly appId: string) {}

  decrypt(sessionKey: string, iv: string, encryptedData: string): Record<string, unknown> {
    const key = Buffer.from(sessionKey, 'base64');
    const ivBytes = Buffer.from(iv, 'base64');
    if (key.length !== 16 || ivBytes.length !== 16) {
      throw new MiniProgramCipherError('session_key and iv must be 16 bytes each');
    }
    const decipher = createDecipheriv('aes-128-cbc', key, ivBytes);
    decipher.setAutoPadding(false);
    let data: Record<string, unknown>;
    try {
      const plain = pkcs7Unpad(
        Buffer.concat([decipher.update(Buffer.from(encryptedData, 'base64')), decipher.final()]),
      );
      data = JSON.parse(plain.toString('utf8')) as Record<string, unknown>;
    } catch (error) {
      const reason = error instanceof PaddingError ? error.message : 'not JSON after decryption';
      throw new MiniProgramCipherError(`encryptedData could not be decrypted: ${reason}`);
    }
    const watermark = data?.watermark as { appid?: unknown } | undefined;
    if (watermark?.appid !== this.appId) {
      throw new MiniProgramCipherError('the watermark appid is not this mini-program');
    }
    return data;
  }
}

/** The mini-program login-state signature: HMAC-SHA256 keyed with the session_key string as given. */
export function sessionSignature(sessionKey: string, message: string): string {
  return createHmac('sha256', sessionKey).update(message, 'utf8').digest('hex');
}

export function verifySessionSignature(sessionKey: string, message: string, signature: string): boolean {
  return safeEqual(sessionSignature(sessionKey, message), signature.toLowerCase());
}
