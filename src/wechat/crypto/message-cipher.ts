import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { PaddingError, pkcs7Pad, pkcs7Unpad } from 'src/wechat/crypto/pkcs7';
import { wechatSignature } from 'src/wechat/crypto/signature';

export type MessageCipherFailure = 'bad_key' | 'bad_base64' | 'bad_padding' | 'bad_length' | 'appid_mismatch';

export class MessageCipherError extends Error {
  constructor(
    readonly reason: MessageCipherFailure,
    message: string,
  ) {
    super(message);
    this.name = 'MessageCipherError';
  }
}

export interface DecryptedMessage {
  xml: string;
  appId: string;
  /** Index in `aesKeys` of the key that opened the message (0 = current, 1 = previous). */
  keyIndex: number;
}

export interface EncryptedReply {
  encrypt: string;
  msgSignature: string;
  timestamp: string;
  nonce: string;
}

const RANDOM_BYTES = 16;
const LENGTH_BYTES = 4;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** key = base64(EncodingAESKey + '='): 43 characters give 32 bytes. */
export function decodeAesKey(encodingAesKey: string): Buffer {
  if (!/^[A-Za-z0-9+/]{43}$/.test(encodingAesKey)) {
    throw new MessageCipherError('bad_key', 'EncodingAESKey must be 43 base64 characters');
  }
  return Buffer.from(`${encodingAesKey}=`, 'base64');
}

/**
 * WeChat's message encryption (消息加解密): AES-256-CBC, IV = key[0..16], PKCS#7 to 32-byte blocks, plaintext =
 * 16 random bytes · 4-byte big-endian length · message · appid. Decryption tries the current key, then the previous
 * one (a message sealed just before an EncodingAESKey rotation is still accepted).
 */
export class MessageCipher {
  private readonly keys: Buffer[];

  constructor(
    aesKeys: readonly string[],
    private readonly appId: string,
  ) {
    if (aesKeys.length === 0) {
      throw new MessageCipherError('bad_key', 'at least one EncodingAESKey is required');
    }
    this.keys = aesKeys.map(decodeAesKey);
  }

  /** Encrypts with the current key; `random` (16 bytes) is for reproducing WeChat's vectors. */
  encrypt(message: string, random: Buffer = randomBytes(RANDOM_BYTES)): string {
    if (random.length !== RANDOM_BYTES) {
      throw new RangeError('random must be 16 bytes');
    }
    const body = Buffer.from(message, 'utf8');
    const length = Buffer.alloc(LENGTH_BYTES);
    length.writeUInt32BE(body.length, 0);
    const plain = pkcs7Pad(Buffer.concat([random, length, body, Buffer.from(this.appId, 'utf8')]));
    const key = this.keys[0];
    const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
    cipher.setAutoPadding(false);
    return Buffer.concat([cipher.update(plain), cipher.final()]).toString('base64');
  }

  /** The reply envelope fields: Encrypt, MsgSignature = sha1(sort([token, timestamp, nonce, Encrypt])). */
  encryptReply(message: string, token: string, timestamp: string, nonce: string): EncryptedReply {
    const encrypt = this.encrypt(message);
    return { encrypt, msgSignature: wechatSignature([token, timestamp, nonce, encrypt]), timestamp, nonce };
  }

  decrypt(encrypt: string): DecryptedMessage {
    const compact = encrypt.replace(/\s+/g, '');
    if (!BASE64.test(compact)) {
      throw new MessageCipherError('bad_base64', 'Encrypt is not base64');
    }
    const data = Buffer.from(compact, 'base64');
    if (data.length === 0 || data.length % 32 !== 0) {
      throw new MessageCipherError('bad_length', 'Encrypt is not a whole number of 32-byte blocks');
    }
    let lastError: MessageCipherError | undefined;
    for (let index = 0; index < this.keys.length; index += 1) {
      try {
        return { ...this.open(data, this.keys[index]), keyIndex: index };
      } catch (error) {
        if (!(error instanceof MessageCipherError)) {
          throw error;
        }
        lastError = error;
      }
    }
    throw lastError!;
  }

  private open(data: Buffer, key: Buffer): { xml: string; appId: string } {
    const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
    decipher.setAutoPadding(false);
    let plain: Buffer;
    try {
      plain = pkcs7Unpad(Buffer.concat([decipher.update(data), decipher.final()]));
    } catch (error) {
      if (error instanceof PaddingError) {
        throw new MessageCipherError('bad_padding', error.message);
      }
      throw error;
    }
    if (plain.length < RANDOM_BYTES + LENGTH_BYTES) {
      throw new MessageCipherError('bad_length', 'decrypted payload is too short');
    }
    const length = plain.readUInt32BE(RANDOM_BYTES);
    const start = RANDOM_BYTES + LENGTH_BYTES;
    if (start + length > plain.length) {
      throw new MessageCipherError('bad_length', 'declared message length exceeds the payload');
    }
    const appId = plain.subarray(start + length).toString('utf8');
    if (appId !== this.appId) {
      throw new MessageCipherError('appid_mismatch', 'the appid inside the message is not this account');
    }
    return { xml: plain.subarray(start, start + length).toString('utf8'), appId };
  }
}
