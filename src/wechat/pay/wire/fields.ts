import type { RefundState } from '../pay.client';

/**
 * Reading the fields of WeChat Pay documents, the same for answers to our calls (client/) and
 * notifications (notify/): amounts, body shapes, v2 refund states, JSON values. Nothing here trusts
 * anything: callers verify signatures first.
 */

/** v2 refund states (`refund_status`, `refund_status_$n`) in the port's words. CHANGE = refund to the card failed. */
export const V2_REFUND_STATE: Readonly<Record<string, RefundState>> = {
  SUCCESS: 'SUCCESS',
  PROCESSING: 'PROCESSING',
  CHANGE: 'ABNORMAL',
  REFUNDCLOSE: 'CLOSED',
};

/** Non-negative integer fen from WeChat's string or number; null otherwise. */
export function parseFen(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : null;
  if (typeof value === 'string' && /^[0-9]{1,15}$/.test(value)) return Number(value);
  return null;
}

/** The first significant character of a body: '<' for XML (v2), '{' for JSON (v3). */
export function bodyShape(rawBody: Buffer | string): 'xml' | 'json' | 'other' {
  const text = (typeof rawBody === 'string' ? rawBody : rawBody.subarray(0, 64).toString('utf8')).replace(/^\uFEFF/, '').trimStart();
  if (text.startsWith('<')) return 'xml';
  if (text.startsWith('{') || text.startsWith('[')) return 'json';
  return 'other';
}

/** A JSON object, or null for anything else (unparseable text, an array, a scalar). */
export function parseObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** A non-empty JSON string; undefined for anything else. */
export function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A JSON value our error messages name when it is not what WeChat documents. */
export function shown(value: unknown): string {
  if (value === undefined || value === null) return '(missing)';
  return typeof value === 'string' ? value : JSON.stringify(value);
}
