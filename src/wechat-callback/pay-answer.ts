import type { Response } from 'express';
import { markChosen500 } from '../common/logger';
import { buildXml } from '../wechat/xml';

/** What a notify URL answers WeChat Pay: done, or why not. */
export type PayVerdict = 'success' | 'sign_error' | 'order_mismatch' | 'system_error';

const REASON: Record<Exclude<PayVerdict, 'success'>, string> = {
  sign_error: 'SIGN_ERROR',
  order_mismatch: 'ORDER_MISMATCH',
  system_error: 'SYSTEM_ERROR',
};

/** The four v2 answers, built once. */
const V2_ANSWER: Record<PayVerdict, string> = {
  success: buildXml({ return_code: 'SUCCESS', return_msg: 'OK' }),
  sign_error: buildXml({ return_code: 'FAIL', return_msg: REASON.sign_error }),
  order_mismatch: buildXml({ return_code: 'FAIL', return_msg: REASON.order_mismatch }),
  system_error: buildXml({ return_code: 'FAIL', return_msg: REASON.system_error }),
};

/**
 * WeChat Pay's answer formats (docs/callbacks.md §3), shared by the payment and refund notify URLs:
 * v2 HTTP 200 XML SUCCESS / FAIL; v3 204, or 401/400/500 `{"code":"FAIL","message":…}`.
 */
export function answerPay(res: Response, version: 'v2' | 'v3', verdict: PayVerdict): void {
  if (version === 'v2') {
    res.status(200).type('text/xml').send(V2_ANSWER[verdict]);
    return;
  }
  if (verdict === 'success') {
    res.status(204).end();
    return;
  }
  const status = verdict === 'sign_error' ? 401 : verdict === 'order_mismatch' ? 400 : 500;
  // "Retry later": the handler logged why where it decided; the request line is a warning.
  if (status === 500) markChosen500(res);
  res.status(status).json({ code: 'FAIL', message: REASON[verdict] });
}
