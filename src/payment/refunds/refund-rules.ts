import type { OrderStatus } from '../entities/payment-order.entity';
import type { RefundStatus } from '../entities/payment-refund.entity';
import { OrderFullyRefundedError, OrderNotPaidError, RefundTooLargeError } from './refund.errors';

/**
 * The refund rules (docs/data.md "Refunds"), as pure functions: what may be refunded, the credits a
 * refund takes back, when an order is fully refunded. The services read the numbers and write the
 * results; the decisions are here.
 */

/** Refund statuses that still hold (part of) the order's money: later refunds cannot claim it again. */
export const OUTSTANDING: readonly RefundStatus[] = ['pending', 'processing', 'success', 'abnormal'];

/**
 * The amount a new refund asks for: `requestedFen`, by default all that is left of the order
 * after its outstanding refunds (`heldFen`). Only a paid order is refunded, never beyond what is left.
 */
export function refundAmount(orderStatus: OrderStatus, orderFen: number, heldFen: number, requestedFen?: number): number {
  if (orderStatus === 'refunded') throw new OrderFullyRefundedError();
  if (orderStatus !== 'paid') throw new OrderNotPaidError();
  const left = orderFen - heldFen;
  if (left <= 0) throw new OrderFullyRefundedError();
  const amount = requestedFen ?? left;
  if (amount > left) throw new RefundTooLargeError(left);
  return amount;
}

/** What later refunds may still claim: 0 unless the order is paid. */
export function refundableFen(orderStatus: OrderStatus, orderFen: number, heldFen: number): number {
  return orderStatus === 'paid' ? Math.max(0, orderFen - heldFen) : 0;
}

/**
 * Credits a refund takes back: in proportion to the money given back, rounded up, counted
 * cumulatively over the order's successful refunds (`refundedFenTotal` includes this one, `dueBefore`
 * is what the earlier ones were due) so that several partial refunds never take more than one full
 * refund would; a full refund takes everything the order granted, and never more.
 */
export function creditsDue(granted: number, orderFen: number, refundedFenTotal: number, dueBefore: number): number {
  if (granted <= 0 || orderFen <= 0) return 0;
  const cumulative = refundedFenTotal >= orderFen ? granted : Math.min(granted, Math.ceil((granted * refundedFenTotal) / orderFen));
  return Math.max(0, cumulative - dueBefore);
}

export interface RefundSettlement {
  /** Credits the rule takes back. */
  due: number;
  /** What the balance allows today (never below zero). */
  taken: number;
  /** `due - taken`: recorded as a `refund_shortfall` anomaly when > 0. */
  shortfall: number;
  /** The order's successful refunds now cover it all: the order becomes `refunded` (a membership ends). */
  fully: boolean;
}

/** What a successful refund does to credits and to the order. `granted` and `balance` as read (negative reads count as 0). */
export function settleRefund(n: {
  granted: number;
  orderFen: number;
  refundedFenTotal: number;
  dueBefore: number;
  balance: number;
}): RefundSettlement {
  const due = creditsDue(Math.max(0, n.granted), n.orderFen, n.refundedFenTotal, n.dueBefore);
  const taken = Math.min(due, Math.max(0, n.balance));
  return { due, taken, shortfall: due - taken, fully: n.refundedFenTotal >= n.orderFen };
}

/**
 * What a refund of `requestedFen` (default: all that is left) would do, for the console's
 * confirmation — an estimate: refunds still in flight are not counted as successful yet.
 * `refundedFenTotal` and `dueBefore` are the order's successful refunds so far.
 */
export function previewRefund(n: {
  orderStatus: OrderStatus;
  orderFen: number;
  heldFen: number;
  requestedFen?: number;
  granted: number;
  refundedFenTotal: number;
  dueBefore: number;
  balance: number;
}): { refundable: number; amount: number; due: number; taken: number } {
  const refundable = refundableFen(n.orderStatus, n.orderFen, n.heldFen);
  const amount = Math.min(n.requestedFen ?? refundable, refundable);
  if (amount <= 0) return { refundable, amount, due: 0, taken: 0 };
  const { due, taken } = settleRefund({ ...n, refundedFenTotal: n.refundedFenTotal + amount });
  return { refundable, amount, due, taken };
}
