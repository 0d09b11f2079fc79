/**
 * Byte/text helpers shared by the crypto modules. Node's own base64 and UTF-8 decoders are lenient
 * (they skip invalid characters, substitute U+FFFD); for signed or encrypted input that leniency
 * would let two different wire strings mean the same bytes, so we decode strictly.
 */

/** Canonical base64 only (standard alphabet, padded, zero trailing bits); otherwise null. */
export function decodeBase64Strict(value: string): Buffer | null {
  if (value.length === 0 || value.length % 4 !== 0) return null;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return null;
  const bytes = Buffer.from(value, 'base64');
  // Re-encoding rejects non-zero padding bits and misplaced '=' that Node would silently accept.
  return bytes.toString('base64') === value ? bytes : null;
}

/** UTF-8 decode that refuses invalid sequences instead of inserting U+FFFD. */
export function decodeUtf8Strict(bytes: Buffer): string | null {
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : null;
}
