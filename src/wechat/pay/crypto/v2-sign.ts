import { createHash, createHmac } from 'node:crypto';
import { randomNonce } from '../../nonce';
import { safeEqual } from '../../signature';
import type { JsapiPaymentParams } from '../pay.client';

export type V2SignType = 'MD5' | 'HMAC-SHA256';
/** Request or notification fields; numbers are stringified, empty/undefined/null are not signed. */
export type V2Params = Record<string, string | number | null | undefined>;

/**
 * The string WeChat Pay v2 signs: every non-empty field except `sign`, keys in ASCII order,
 * `k=v` joined by `&`, then `&key=<API key>`. Unknown fields are kept: WeChat adds fields over
 * time and signs them too.
 */
export function v2SignString(params: V2Params, key: string): string {
  if (!key) throw new TypeError('v2 API key is empty');
  const pairs = Object.keys(params)
    .filter((name) => name !== 'sign')
    .sort() // code-unit order = ASCII order for WeChat's field names
    .flatMap((name) => {
      const value = params[name];
      if (value === undefined || value === null || value === '') return [];
      return [`${name}=${String(value)}`];
    });
  return `${pairs.join('&')}&key=${key}`;
}

/** Upper-hex v2 signature; HMAC-SHA256 uses the API key itself as the HMAC key. */
export function v2Sign(params: V2Params, key: string, signType: V2SignType = 'MD5'): string {
  const text = v2SignString(params, key);
  const digest =
    signType === 'HMAC-SHA256'
      ? createHmac('sha256', key).update(text, 'utf8').digest('hex')
      : createHash('md5').update(text, 'utf8').digest('hex');
  return digest.toUpperCase();
}

/**
 * Verifies `params.sign`. The algorithm comes from `params.sign_type` (absent or empty → MD5);
 * an unknown sign_type fails rather than falling back. sign_type is itself signed, so it cannot be
 * switched without the key.
 */
export function v2Verify(params: V2Params, key: string): boolean {
  const sign = params.sign;
  if (typeof sign !== 'string' || sign === '') return false;
  const declared = params.sign_type;
  const signType = declared === undefined || declared === null || declared === '' ? 'MD5' : String(declared);
  if (signType !== 'MD5' && signType !== 'HMAC-SHA256') return false;
  return safeEqual(v2Sign(params, key, signType), sign);
}

/**
 * Verifies a v2 response's `sign`. WeChat does not echo `sign_type` in responses: it signs them
 * with the type of the request, which is always the configured one. A `sign_type` in the response
 * (signed like any field) wins.
 */
export function verifyV2ResponseSign(fields: Record<string, string>, apiKey: string, requestSignType: V2SignType): boolean {
  const sign = fields.sign;
  if (!sign) return false;
  const declared = fields.sign_type || requestSignType;
  if (declared !== 'MD5' && declared !== 'HMAC-SHA256') return false;
  return safeEqual(v2Sign(fields, apiKey, declared), sign);
}

/**
 * The v2 JSAPI parameters: `paySign` over appId, timeStamp, nonceStr, package, signType with the
 * API key, in the configured sign type (the same type the order was placed with).
 */
export function buildV2JsapiPaymentParams(
  appId: string,
  prepayId: string,
  apiKey: string,
  signType: V2SignType,
  timeStamp: string,
  nonceStr: string = randomNonce(32),
): JsapiPaymentParams {
  const unsigned = { appId, timeStamp, nonceStr, package: `prepay_id=${prepayId}`, signType };
  return { ...unsigned, paySign: v2Sign(unsigned, apiKey, signType) };
}
