import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * WeChat's SHA-1 signature: sort the parts, concatenate, hex digest. Used for the server signature
 * `[token, timestamp, nonce]` and the safe-mode `msg_signature` `[token, timestamp, nonce, Encrypt]`.
 * The default sort compares UTF-16 code units, which equals WeChat's byte-wise sort for the ASCII
 * values it sends.
 */
export function sha1Signature(...parts: string[]): string {
  const joined = [...parts].sort().join('');
  return createHash('sha1').update(joined, 'utf8').digest('hex');
}

/**
 * Constant-time string comparison, so a forged signature cannot be guessed byte by byte through
 * response timing. Only the length can leak, and signature lengths are public anyway.
 */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  if (left.length !== right.length) return false;
  return timingSafeEqual(left, right);
}

/**
 * Whether a unix-seconds timestamp from a request is within `maxSkewSeconds` of now (either side).
 * Only plain decimal digits count: `Number()` would also accept ' 1e9', '0x10' or '', which would
 * make the replay window depend on parser quirks.
 */
export function isFreshTimestamp(timestamp: string, nowSeconds: number, maxSkewSeconds: number): boolean {
  if (!/^[0-9]{1,15}$/.test(timestamp)) return false;
  if (!Number.isFinite(nowSeconds) || !Number.isFinite(maxSkewSeconds) || maxSkewSeconds < 0) return false;
  return Math.abs(nowSeconds - Number(timestamp)) <= maxSkewSeconds;
}
