/** The only detail a signature/authenticity failure ever shows (docs/callbacks.md §1–2). */
export const VERIFY_FAILED_DETAIL = '验证失败';

/**
 * A callback refused before any effect: 403 (not from WeChat: signature, skew, replay, appid),
 * 400 (unusable body) or 413. `reason` goes to the warn log only, never to the response, and must
 * hold no secret, signature or full openid.
 */
export class CallbackRejection extends Error {
  constructor(
    readonly status: 400 | 403 | 413,
    readonly detail: string,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'CallbackRejection';
  }

  static forbidden(reason: string): CallbackRejection {
    return new CallbackRejection(403, VERIFY_FAILED_DETAIL, reason);
  }

  static badRequest(detail: string, reason = detail): CallbackRejection {
    return new CallbackRejection(400, detail, reason);
  }
}
