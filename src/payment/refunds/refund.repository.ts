import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { DatabaseService } from '../../database/database.service';
import { select } from '../../database/sql';
import type { RefundStatus } from '../entities/payment-refund.entity';
import { OUTSTANDING } from './refund-rules';

/** A `payment_refunds` row as raw SQL reads it (`raw` and `last_queried_at` left out). */
export interface RefundRow {
  refund_no: string;
  request_id: string;
  order_no: string;
  openid: string;
  amount_fen: number;
  total_fen: number;
  status: RefundStatus;
  wx_refund_id: string | null;
  note: string | null;
  credits_due: number | null;
  credits_taken: number | null;
  failure_reason: string | null;
  created_at: unknown;
  completed_at: unknown;
}

const COLUMNS =
  'refund_no, request_id, order_no, openid, amount_fen, total_fen, status, wx_refund_id, note, credits_due, credits_taken, failure_reason, created_at, completed_at';
/** Refunds per `IN (…)` list. */
const CHUNK = 500;

/**
 * The reads of `payment_refunds` the refund services share, and the sums the refund rules
 * (refund-rules.ts) need. The status changes stay with their gates (RefundRequestService,
 * RefundApplyService).
 */
@Injectable()
export class RefundRepository {
  constructor(private readonly db: DatabaseService) {}

  findByRequestId(requestId: string): Promise<RefundRow | undefined> {
    return this.db.run(
      async (em) => (await select<RefundRow>(em, `SELECT ${COLUMNS} FROM payment_refunds WHERE request_id = ?`, [requestId]))[0],
    );
  }

  findByRefundNo(refundNo: string): Promise<RefundRow | undefined> {
    return this.db.run(
      async (em) => (await select<RefundRow>(em, `SELECT ${COLUMNS} FROM payment_refunds WHERE refund_no = ?`, [refundNo]))[0],
    );
  }

  /** The refund a request_id created, as this transaction sees it. */
  async refundNoOfRequestIn(em: EntityManager, requestId: string): Promise<string | undefined> {
    return (await select<{ refund_no: string }>(em, 'SELECT refund_no FROM payment_refunds WHERE request_id = ?', [requestId]))[0]
      ?.refund_no;
  }

  listForOrder(orderNo: string): Promise<RefundRow[]> {
    return this.db.run((em) => select<RefundRow>(em, `SELECT ${COLUMNS} FROM payment_refunds WHERE order_no = ? ORDER BY id`, [orderNo]));
  }

  async statusIn(em: EntityManager, refundNo: string): Promise<RefundStatus> {
    const [r] = await select<{ status: RefundStatus }>(em, 'SELECT status FROM payment_refunds WHERE refund_no = ?', [refundNo]);
    return r.status;
  }

  /** The money of the order that its outstanding refunds hold (`OUTSTANDING`): later refunds cannot claim it. */
  async heldFenIn(em: EntityManager, orderNo: string): Promise<number> {
    const [{ s }] = await select<{ s: number | string | null }>(
      em,
      `SELECT COALESCE(SUM(amount_fen), 0) AS s FROM payment_refunds WHERE order_no = ? AND status IN (${OUTSTANDING.map(() => '?').join(', ')})`,
      [orderNo, ...OUTSTANDING],
    );
    return Number(s ?? 0);
  }

  /**
   * The order's successful refunds: the money they returned, and the credits due by those other than
   * `exceptRefundNo` (the one being applied, already counted as successful in `refundedFen`).
   */
  async successfulIn(em: EntityManager, orderNo: string, exceptRefundNo?: string): Promise<{ refundedFen: number; dueBefore: number }> {
    const [{ refunded, dueBefore }] = await select<{ refunded: number | string | null; dueBefore: number | string | null }>(
      em,
      `SELECT COALESCE(SUM(amount_fen), 0) AS refunded, COALESCE(SUM(CASE WHEN refund_no <> ? THEN credits_due ELSE 0 END), 0) AS dueBefore
       FROM payment_refunds WHERE order_no = ? AND status = 'success'`,
      [exceptRefundNo ?? '', orderNo],
    );
    return { refundedFen: Number(refunded ?? 0), dueBefore: Number(dueBefore ?? 0) };
  }

  /** The refunds of these numbers that exist (reconciliation: WeChat's bill against ours), by number. */
  async byNumbers(refundNos: string[]): Promise<Map<string, Pick<RefundRow, 'status' | 'amount_fen'>>> {
    const out = new Map<string, Pick<RefundRow, 'status' | 'amount_fen'>>();
    const unique = [...new Set(refundNos)];
    for (let i = 0; i < unique.length; i += CHUNK) {
      const part = unique.slice(i, i + CHUNK);
      const rows = await this.db.run((em) =>
        select<Pick<RefundRow, 'refund_no' | 'status' | 'amount_fen'>>(
          em,
          `SELECT refund_no, status, amount_fen FROM payment_refunds WHERE refund_no IN (${part.map(() => '?').join(', ')})`,
          part,
        ),
      );
      for (const r of rows) out.set(r.refund_no, r);
    }
    return out;
  }
}
