import type { Response } from 'express';
import { buildXml } from '../wechat/xml';

/** What a notify URL answers WeChat Pay: done, or why not. */
export type PayVerdict = 'success' | 'sign_error' | 'order_mismatch' | 'system_error';

const REASON: Record<Exclude<PayVerdict, 'success'>, string> = {
  sign_error: 'SIGN_ERROR',
  order_mismatch: 'ORDER_MISMATCH',
  system_error: 'SYSTEM_ERROR',
};

/**
 * WeChat Pay's answer formats (docs/callbacks.md §3), shared by the payment and refund notify URLs:
 * v2 HTTP 200 XML SUCCESS / FAIL; v3 204, or 401/400/500 `{"code":"FAIL","message":…}`.
 */
export function answerPay(res: Response, version: 'v2' | 'v3', verdict: PayVerdict): void {
  if (version === 'v2') {
    const fields =
      verdict === 'success' ? { return_code: 'SUCCESS', return_msg: 'OK' } : { return_code: 'FAIL', return_msg: REASON[verdict] };
    res.status(200).type('text/xml').send(buildXml(fields));
    return;
  }
  if (verdict === 'success') {
    res.status(204).end();
    return;
  }
  const status = verdict === 'sign_error' ? 401 : verdict === 'order_mismatch' ? 400 : 500;
  res.status(status).json({ code: 'FAIL', message: REASON[verdict] });
}
