import { createHash, timingSafeEqual } from 'node:crypto';

/** Constant-time comparison of two secrets of any lengths (over their SHA-256 digests). */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
