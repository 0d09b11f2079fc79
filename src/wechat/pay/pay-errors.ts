import { isAxiosError } from 'axios';
import { maskId } from '../../common/redact';
import { WechatError } from '../errors';

/**
 * Errors of the WeChat Pay clients. Callers branch on the class (and `code`); messages are fit for
 * logs: never a key, a signature, a request URL with credentials or a full openid.
 */

/** WeChat Pay answered and refused: `code` is WeChat's v2 `err_code` (or return_msg class) / v3 `code`. */
export class PayApiError extends WechatError<string> {
  constructor(
    code: string,
    message: string,
    readonly httpStatus?: number,
  ) {
    super(code, safeMessage(message));
  }
}

/** WeChat Pay could not be reached or answered nothing usable: network error, timeout, 5xx, garbage. Retry later. */
export class PayUnavailableError extends WechatError<'unavailable'> {
  constructor(message: string) {
    super('unavailable', safeMessage(message));
  }
}

/** An answer claimed to come from WeChat Pay but its signature (or merchant) did not check out. Never trusted. */
export class PayResponseSignatureError extends WechatError<'bad_response_signature'> {
  constructor(message: string) {
    super('bad_response_signature', safeMessage(message));
  }
}

export type PayNotificationFailure =
  | 'bad_signature'
  | 'wrong_merchant' // appid / mch_id of another account
  | 'stale_timestamp'
  | 'signtest_probe'
  | 'decrypt_failed'
  | 'malformed'
  | 'wrong_protocol' // a v3 JSON body sent to a v2 configuration, or the reverse
  | 'return_fail'; // v2 return_code != SUCCESS

/** A payment notification we refuse; the notify controller answers FAIL / 401 from `reason`. */
export class PayNotificationError extends WechatError<PayNotificationFailure> {
  constructor(reason: PayNotificationFailure, message: string = reason) {
    super(reason, safeMessage(message));
  }

  get reason(): PayNotificationFailure {
    return this.code;
  }
}

// Openids are 28 characters of [A-Za-z0-9_-] starting with "o"; WeChat sometimes echoes them.
const OPENID_LIKE = /\bo[A-Za-z0-9_-]{20,40}\b/g;

/** WeChat's own messages go into ours: bounded, one line, openid-looking tokens masked. */
export function safeMessage(message: string): string {
  return (
    message
      // eslint-disable-next-line no-control-regex -- control characters are what this line removes
      .replace(/[\u0000-\u001f\u007f]+/g, ' ')
      .replace(OPENID_LIKE, (id) => maskId(id))
      .slice(0, 300)
  );
}

/**
 * Maps whatever a request threw to a PayUnavailableError. The axios error itself never escapes:
 * its config carries the request (Authorization header, signed XML with the merchant's fields).
 */
export function unavailableFrom(api: string, err: unknown): PayUnavailableError {
  if (err instanceof PayUnavailableError) return err;
  if (isAxiosError(err)) {
    const reason =
      err.code === 'ECONNABORTED' || err.code === 'ETIMEDOUT'
        ? 'timed out'
        : err.response
          ? `HTTP ${err.response.status}`
          : (err.code ?? 'request failed');
    return new PayUnavailableError(`${api}: ${reason}`);
  }
  const code = (err as { code?: unknown } | null)?.code;
  return new PayUnavailableError(`${api}: ${typeof code === 'string' ? code : 'request failed'}`);
}
