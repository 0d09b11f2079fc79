import { yuanToFen } from '../../config/money';
import type { OrderStatus, OrderType } from '../entities/payment-order.entity';

/**
 * A `payment_orders` row as raw SQL reads it — the one declaration: each reader names the columns
 * it selects with `Pick<OrderRow, …>`. Dates stay `unknown` (drivers differ: `toDate()` reads them).
 */
export interface OrderRow {
  order_no: string;
  openid: string;
  order_type: OrderType;
  amount: string | number;
  /** NULL on a row the old service wrote: `orderFen` computes it from `amount`. */
  amount_fen: number | null;
  credits_amount: number | null;
  status: OrderStatus;
  pay_version: 'v2' | 'v3' | null;
  prepay_id: string | null;
  wx_transaction_id: string | null;
  failure_reason: string | null;
  created_at: unknown;
  paid_at: unknown;
  closed_at: unknown;
}

/** What the order costs in fen: `amount_fen`, or the legacy yuan `amount` when it is NULL. */
export function orderFen(o: Pick<OrderRow, 'amount' | 'amount_fen'>): number {
  return o.amount_fen === null || o.amount_fen === undefined ? yuanToFen(String(o.amount)) : Number(o.amount_fen);
}
