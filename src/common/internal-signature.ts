import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * `X-Internal-Signature` = hex(HMAC-SHA256(secret, METHOD\nPATH\nTIMESTAMP\nSHA256_HEX(BODY)))
 * where PATH is the request target exactly as sent (path + ?query) and BODY the raw bytes.
 */
export function internalSignature(secret: string, method: string, target: string, timestamp: string, body: Buffer | string): string {
  const bodyHash = createHash('sha256').update(body).digest('hex');
  return createHmac('sha256', secret).update(`${method.toUpperCase()}\n${target}\n${timestamp}\n${bodyHash}`).digest('hex');
}

export function verifyInternalSignature(
  secret: string,
  method: string,
  target: string,
  timestamp: string | undefined,
  signature: string | undefined,
  body: Buffer | string,
  nowSeconds: number,
  maxSkewSeconds = 300,
): boolean {
  if (!secret || !timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > maxSkewSeconds) return false;
  const expected = Buffer.from(internalSignature(secret, method, target, timestamp, body), 'utf8');
  const given = Buffer.from(signature.toLowerCase(), 'utf8');
  return expected.length === given.length && timingSafeEqual(expected, given);
}
