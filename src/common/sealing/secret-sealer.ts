import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { Configuration } from 'src/config/configuration';

const VERSION = 'v1';

/**
 * Seals secrets at rest (session_key, refresh_token, access tokens, account secrets) with AES-256-GCM under
 * DATA_ENCRYPTION_KEY. Format: `v1.<iv>.<tag>.<ciphertext>`, each part base64url. During a key rotation values
 * sealed with DATA_ENCRYPTION_KEY_PREVIOUS still open (GCM's tag tells which key sealed a value); whatever is written
 * is sealed with the current key, and `npm run reseal` re-seals the rest.
 */
@Injectable()
export class SecretSealer {
  private readonly key: Buffer;
  private readonly previousKey?: Buffer;

  constructor(config: ConfigService<Configuration, true>) {
    const app = config.get('app', { infer: true });
    this.key = app.dataEncryptionKey;
    this.previousKey = app.dataEncryptionKeyPrevious;
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv, cipher.getAuthTag(), body]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }

  /** Throws when the value was sealed under neither key or was tampered with. */
  open(sealed: string): string {
    return this.openWithEither(sealed).plaintext;
  }

  /**
   * The value sealed anew with the current key, or undefined when it already is: what `npm run reseal` writes back.
   * Throws as `open` does.
   */
  reseal(sealed: string): string | undefined {
    const opened = this.openWithEither(sealed);
    return opened.current ? undefined : this.seal(opened.plaintext);
  }

  private openWithEither(sealed: string): { plaintext: string; current: boolean } {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== VERSION || !iv || !tag || body === undefined) {
      throw new Error('Sealed value has an unknown format');
    }
    const parts = { iv: Buffer.from(iv, 'base64url'), tag: Buffer.from(tag, 'base64url') };
    const ciphertext = Buffer.from(body, 'base64url');
    try {
      return { plaintext: openWith(this.key, parts, ciphertext), current: true };
    } catch (error) {
      if (!this.previousKey) {
        throw error;
      }
      return { plaintext: openWith(this.previousKey, parts, ciphertext), current: false };
    }
  }
}

function openWith(key: Buffer, parts: { iv: Buffer; tag: Buffer }, ciphertext: Buffer): string {
  const decipher = createDecipheriv('aes-256-gcm', key, parts.iv);
  decipher.setAuthTag(parts.tag);
  return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
}

/** SHA-256 hex digest, for storing what must be looked up but never read back (session tokens, token identity). */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}
