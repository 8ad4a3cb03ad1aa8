import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { Configuration } from 'src/config/configuration';

const VERSION = 'v1';

/**
 * Seals secrets at rest (session_key, refresh_token, access tokens) with AES-256-GCM under DATA_ENCRYPTION_KEY.
 * Format: `v1.<iv>.<tag>.<ciphertext>`, each part base64url; the version leaves room for key rotation.
 */
@Injectable()
export class SecretSealer {
  private readonly key: Buffer;

  constructor(config: ConfigService<Configuration, true>) {
    this.key = config.get('app', { infer: true }).dataEncryptionKey;
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv, cipher.getAuthTag(), body]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }

  /** Throws when the value was not sealed under this key or was tampered with. */
  open(sealed: string): string {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== VERSION || !iv || !tag || body === undefined) {
      throw new Error('Sealed value has an unknown format');
    }
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }
}

/** SHA-256 hex digest, for storing what must be looked up but never read back (session tokens, token identity). */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}
