import { randomBytes } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
// Largest multiple of 62 that fits in a byte: bytes at or above it are discarded, so `byte % 62`
// is uniform (no modulo bias towards the first characters).
const UNBIASED_LIMIT = 256 - (256 % ALPHABET.length);

/** A random alphanumeric string for `nonce_str`, `nonceStr`, reply nonces. CSPRNG, unbiased. */
export function randomNonce(len = 32): string {
  if (!Number.isSafeInteger(len) || len < 1) throw new RangeError('nonce length must be a positive integer');
  let out = '';
  while (out.length < len) {
    // ~3% of bytes are discarded, so a little over-fetching usually finishes in one round.
    for (const byte of randomBytes(len - out.length + 8)) {
      if (byte >= UNBIASED_LIMIT) continue;
      out += ALPHABET[byte % ALPHABET.length];
      if (out.length === len) break;
    }
  }
  return out;
}
