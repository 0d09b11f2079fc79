import { toIsoShanghai } from '../../common/time-format';
import { fenToYuanNumber } from '../../config/money';
import { toDate } from '../../database/sql';
import type { RefundStatus } from '../entities/payment-refund.entity';
import type { RefundRow } from './refund.repository';

/** A refund as the admin endpoints and the console show it (docs/api.md). */
export interface RefundView {
  refund_no: string;
  order_no: string;
  request_id: string;
  amount_fen: number;
  amount: number;
  status: RefundStatus;
  wx_refund_id: string | null;
  note: string | null;
  credits_due: number | null;
  credits_taken: number | null;
  failure_reason: string | null;
  created_at: string | null;
  completed_at: string | null;
}

export function refundView(r: RefundRow): RefundView {
  return {
    refund_no: r.refund_no,
    order_no: r.order_no,
    request_id: r.request_id,
    amount_fen: Number(r.amount_fen),
    amount: fenToYuanNumber(Number(r.amount_fen)),
    status: r.status,
    wx_refund_id: r.wx_refund_id,
    note: r.note,
    credits_due: r.credits_due === null ? null : Number(r.credits_due),
    credits_taken: r.credits_taken === null ? null : Number(r.credits_taken),
    failure_reason: r.failure_reason,
    created_at: toIsoShanghai(toDate(r.created_at)),
    completed_at: toIsoShanghai(toDate(r.completed_at)),
  };
}
