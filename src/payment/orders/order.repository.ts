import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { DatabaseService } from '../../database/database.service';
import { execute, select } from '../../database/sql';
import type { OrderRow } from './order-row';

/** Columns every reader but the support view needs (the reconciliation and refund reads). */
export type OrderFacts = Pick<
  OrderRow,
  'order_no' | 'openid' | 'order_type' | 'amount' | 'amount_fen' | 'status' | 'wx_transaction_id' | 'paid_at'
>;
/** What support shows of an order. */
export type OrderSummary = Omit<OrderRow, 'openid' | 'prepay_id'>;
const FACTS = 'order_no, openid, order_type, amount, amount_fen, status, wx_transaction_id, paid_at';
/** Orders per `IN (…)` list. */
const CHUNK = 500;

/**
 * The reads of `payment_orders` that refunds, reconciliation and the support/console views share.
 * The writes stay with their gates: OrderService (placement, queries), PaymentApplyService (paid,
 * failed, closed), RefundApplyService (refunded).
 */
@Injectable()
export class OrderRepository {
  constructor(private readonly db: DatabaseService) {}

  find(orderNo: string): Promise<OrderFacts | undefined> {
    return this.db.run((em) => this.findIn(em, orderNo));
  }

  async findIn(em: EntityManager, orderNo: string): Promise<OrderFacts | undefined> {
    return (await select<OrderFacts>(em, `SELECT ${FACTS} FROM payment_orders WHERE order_no = ?`, [orderNo]))[0];
  }

  /** A no-op update takes the order's row lock (MySQL): what is decided per order is decided one at a time. */
  async lockIn(em: EntityManager, orderNo: string): Promise<void> {
    await execute(em, 'UPDATE payment_orders SET status = status WHERE order_no = ?', [orderNo]);
  }

  /** The orders of these numbers that exist, by number. */
  async byNumbers(orderNos: string[]): Promise<Map<string, OrderFacts>> {
    const out = new Map<string, OrderFacts>();
    const unique = [...new Set(orderNos)];
    for (let i = 0; i < unique.length; i += CHUNK) {
      const part = unique.slice(i, i + CHUNK);
      const rows = await this.db.run((em) =>
        select<OrderFacts>(em, `SELECT ${FACTS} FROM payment_orders WHERE order_no IN (${part.map(() => '?').join(', ')})`, part),
      );
      for (const r of rows) out.set(r.order_no, r);
    }
    return out;
  }

  /** Orders paid in [start, end) that stay paid or were refunded since, oldest first. */
  paidBetween(start: Date, end: Date): Promise<OrderFacts[]> {
    return this.db.run((em) =>
      select<OrderFacts>(
        em,
        `SELECT ${FACTS} FROM payment_orders WHERE status IN ('paid', 'refunded') AND paid_at >= ? AND paid_at < ? ORDER BY id`,
        [start, end],
      ),
    );
  }

  /** Whether another paid membership order of the user stands (a fully refunded one then does not end the membership). */
  async anotherPaidMembershipIn(em: EntityManager, openid: string, exceptOrderNo: string): Promise<boolean> {
    const [{ n }] = await select<{ n: number | string }>(
      em,
      "SELECT COUNT(*) AS n FROM payment_orders WHERE openid = ? AND order_type = 'member' AND status = 'paid' AND order_no <> ?",
      [openid, exceptOrderNo],
    );
    return Number(n) > 0;
  }

  /** The owner of an order, if it exists. */
  async ownerOf(orderNo: string): Promise<string | null> {
    const [row] = await this.db.run((em) =>
      select<{ openid: string }>(em, 'SELECT openid FROM payment_orders WHERE order_no = ?', [orderNo]),
    );
    return row?.openid ?? null;
  }

  /** A user's last `limit` orders, newest first, with what support shows of them. */
  latestOf(openid: string, limit: number): Promise<OrderSummary[]> {
    return this.db.run((em) =>
      select<OrderSummary>(
        em,
        `SELECT order_no, order_type, amount, amount_fen, credits_amount, status, pay_version, wx_transaction_id, failure_reason, created_at, paid_at, closed_at
         FROM payment_orders WHERE openid = ? ORDER BY id DESC LIMIT ${Math.max(1, Math.floor(limit))}`,
        [openid],
      ),
    );
  }
}
