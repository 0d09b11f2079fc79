import type { Logger } from '@nestjs/common';
import type { Response } from 'express';
import { DomainError } from '../common/errors';
import type { InternalApi } from '../internal/internal-api';
import type { RefundNotification } from '../wechat/pay/pay.client';
import { buildXml } from '../wechat/xml';
import type { CallbackBudget } from './callback-budget';

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

/**
 * Applies a verified refund result through InternalApi.applyRefund within the callback's budget.
 * A refund we never asked for, or one whose amounts differ from ours, is refused (nothing changes;
 * support sees the anomaly); unavailability is a system error so WeChat retries.
 */
export async function applyRefundNotification(
  internal: InternalApi,
  n: RefundNotification,
  budget: CallbackBudget,
  logger: Logger,
): Promise<PayVerdict> {
  try {
    const r = await budget.run((opts) =>
      internal.applyRefund(
        {
          refund_no: n.refundNo,
          order_no: n.orderNo,
          status: n.status === 'SUCCESS' ? 'success' : n.status === 'CLOSED' ? 'closed' : 'abnormal',
          refund_fen: n.refundFen,
          total_fen: n.totalFen,
          wx_refund_id: n.wxRefundId || undefined,
          success_time: n.successAt?.toISOString(),
          raw: n.raw,
        },
        opts,
      ),
    );
    logger.log(
      `refund ${n.refundNo} of ${n.orderNo} (${n.status}): ${r.applied ? 'applied' : 'already applied'} (refund ${r.refund_status}, order ${r.order_status})`,
    );
    return 'success';
  } catch (err) {
    if (err instanceof DomainError && err.status < 500) {
      logger.error(`refund ${n.refundNo} of ${n.orderNo} refused (${err.detail}); ${n.refundFen} of ${n.totalFen} fen`);
      return 'order_mismatch';
    }
    logger.warn(`refund ${n.refundNo} not applied now (${(err as Error).message}); WeChat will retry`);
    return 'system_error';
  }
}
