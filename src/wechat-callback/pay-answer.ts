import { buildXml } from '../wechat/xml';
import { JSON_TYPE } from '../common/express.adapter';
import { CallbackReply } from './callback-http';

/** What a notify URL answers WeChat Pay: done, or why not. */
export type PayVerdict = 'success' | 'sign_error' | 'order_mismatch' | 'system_error';

const REASON: Record<Exclude<PayVerdict, 'success'>, string> = {
  sign_error: 'SIGN_ERROR',
  order_mismatch: 'ORDER_MISMATCH',
  system_error: 'SYSTEM_ERROR',
};

const v2 = (fields: Record<string, string>): CallbackReply => ({
  status: 200,
  contentType: 'text/xml; charset=utf-8',
  body: buildXml(fields),
});
const v3 = (status: number, verdict: Exclude<PayVerdict, 'success'>): CallbackReply => ({
  status,
  contentType: JSON_TYPE,
  body: JSON.stringify({ code: 'FAIL', message: REASON[verdict] }),
  // "Retry later": the handler logged why where it decided; the request line is a warning.
  chosen500: status === 500,
});

/**
 * WeChat Pay's answer formats (docs/callbacks.md §3), shared by the payment and refund notify URLs,
 * built once: v2 HTTP 200 XML SUCCESS / FAIL; v3 204, or 401/400/500 `{"code":"FAIL","message":…}`.
 */
const ANSWERS: Record<'v2' | 'v3', Record<PayVerdict, CallbackReply>> = {
  v2: {
    success: v2({ return_code: 'SUCCESS', return_msg: 'OK' }),
    sign_error: v2({ return_code: 'FAIL', return_msg: REASON.sign_error }),
    order_mismatch: v2({ return_code: 'FAIL', return_msg: REASON.order_mismatch }),
    system_error: v2({ return_code: 'FAIL', return_msg: REASON.system_error }),
  },
  v3: {
    success: { status: 204 },
    sign_error: v3(401, 'sign_error'),
    order_mismatch: v3(400, 'order_mismatch'),
    system_error: v3(500, 'system_error'),
  },
};

export function answerPay(version: 'v2' | 'v3', verdict: PayVerdict): CallbackReply {
  return ANSWERS[version][verdict];
}
