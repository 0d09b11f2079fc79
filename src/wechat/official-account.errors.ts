/** Errors of the official-account API client: typed, carrying WeChat's errcode, never a secret. */

/** WeChat answered with a non-zero errcode. */
export class WechatApiError extends Error {
  constructor(
    readonly errcode: number,
    readonly errmsg: string,
    readonly api: string,
  ) {
    super(`${api}: errcode ${errcode} ${errmsg}`);
    this.name = 'WechatApiError';
  }
}

/** WeChat could not be reached in time (network error, timeout, 5xx, unreadable answer). */
export class WechatUnavailableError extends Error {
  constructor(
    readonly api: string,
    reason: string,
  ) {
    super(`${api}: ${reason}`);
    this.name = 'WechatUnavailableError';
  }
}

/** errcodes that mean "this access token is no longer valid": refresh once and retry once. */
export const TOKEN_INVALID_ERRCODES = new Set([40001, 42001, 40014]);
/** Daily API quota reached: retrying only burns more quota. */
export const QUOTA_EXCEEDED_ERRCODE = 45009;
