import { createHash } from 'node:crypto';
import { safeEqual } from 'src/common/safe-equal';

/** WeChat's signature: sha1 of the parts sorted as strings and concatenated (webhook `signature`, `msg_signature`). */
export function wechatSignature(parts: readonly string[]): string {
  return createHash('sha1')
    .update([...parts].sort().join(''), 'utf8')
    .digest('hex');
}

/** Constant-time check of a WeChat signature; a missing or non-string signature never matches. */
export function verifySignature(token: string, parts: readonly string[], signature: unknown): boolean {
  if (typeof signature !== 'string' || signature.length === 0) {
    return false;
  }
  return safeEqual(wechatSignature([token, ...parts]), signature.toLowerCase());
}
