import { hash, timingSafeEqual } from 'node:crypto';

/** The parts sorted as strings and concatenated: what WeChat's signatures are the sha1 of. */
const signed = (parts: readonly string[]): string => [...parts].sort().join('');

/** WeChat's signature: sha1 of the parts sorted as strings and concatenated (webhook `signature`, `msg_signature`). */
export function wechatSignature(parts: readonly string[]): string {
  return hash('sha1', signed(parts), 'hex');
}

/** A sha1 in hex: the only shape a signature can have. */
const SHA1_HEX = /^[0-9a-f]{40}$/i;

/**
 * Constant-time check of a WeChat signature (either case of hex); a missing, non-string or misshapen signature never
 * matches. Every signature is 40 hex digits, so only the bytes are compared, in constant time: the shape is public.
 */
export function verifySignature(token: string, parts: readonly string[], signature: unknown): boolean {
  if (typeof signature !== 'string' || !SHA1_HEX.test(signature)) {
    return false;
  }
  return timingSafeEqual(hash('sha1', signed([token, ...parts]), 'buffer'), Buffer.from(signature, 'hex'));
}
