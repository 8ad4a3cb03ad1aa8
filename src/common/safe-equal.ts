import { hash, timingSafeEqual } from 'node:crypto';

/** Constant-time string comparison; hashing first hides the length as well. */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(hash('sha256', a, 'buffer'), hash('sha256', b, 'buffer'));
}
