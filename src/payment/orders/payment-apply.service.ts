import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Clock } from '../../common/clock';
import { maskId } from '../../common/redact';
import { AppConfig } from '../../config/app-config';
import { fenToYuanString } from '../../config/money';
import { DatabaseService } from '../../database/database.service';
import { execute, isUniqueViolation, select } from '../../database/sql';
import { grant, LedgerService } from '../../user/ledger.service';
import { MembershipService } from '../../user/membership.service';
import { UserService } from '../../user/user.service';
import { AnomalyService } from '../anomaly.service';
import type { OrderStatus } from '../entities/payment-order.entity';
import { creditsGranted } from './order-grants';
import { OrderRow, orderFen } from './order-row';
import { DomainError } from '../../common/errors';
import { AmountMismatchError, OrderNotFoundError, PayerMismatchError, TransactionReusedError } from '../payment.errors';

export interface ApplyPaymentInput {
  orderNo: string;
  status: 'paid' | 'failed' | 'closed';
  transactionId?: string;
  totalFen?: number;
  payerOpenid?: string;
  paidAt?: Date;
  raw?: string;
  /** Why a failed/closed result came (logged on the order). */
  reason?: string;
}

export interface ApplyPaymentOutcome {
  applied: boolean;
  orderStatus: OrderStatus;
}

/** The order as ORDER_READ reads it, with what deciding a result needs besides. */
type OrderToApply = Pick<OrderRow, 'order_no' | 'openid' | 'order_type' | 'amount' | 'amount_fen' | 'credits_amount' | 'status'> & {
  /** 1 when the owner has a user row (orders normally have one; the old service may differ). */
  has_user: number | null;
  /** Another order already paid by the transaction this result names, if any. */
  reused_by: string | null;
};

/** The statuses a verified payment may still move to `paid`; every other one is final for it. */
const PAYABLE: readonly OrderStatus[] = ['pending', 'failed', 'closed'];
/** The order and what deciding a result needs besides, in one read: parameters (transaction id, order no). */
// has_user reads user's wechat_users directly, not through UserService: one round trip on every notification (docs/data.md).
const ORDER_READ = `SELECT o.order_no, o.openid, o.order_type, o.amount, o.amount_fen, o.credits_amount, o.status,
  (SELECT 1 FROM wechat_users u WHERE u.openid = o.openid) AS has_user,
  (SELECT r.order_no FROM payment_records r WHERE r.transaction_id = ? AND r.order_no <> o.order_no LIMIT 1) AS reused_by
  FROM payment_orders o WHERE o.order_no = ?`;

/**
 * Applying a payment result (docs/data.md "Applying a payment"): one transaction, exactly once.
 * A verified "paid" wins over pending / failed / closed (the customer's money was taken) but never
 * over refunded; amount and payer are checked against the order; the conditional status update is
 * the single gate every notification, active query and reconciliation passes through.
 */
@Injectable()
export class PaymentApplyService {
  private readonly logger = new Logger(PaymentApplyService.name);

  constructor(
    private readonly db: DatabaseService,
    private readonly ledger: LedgerService,
    private readonly users: UserService,
    private readonly membership: MembershipService,
    private readonly anomalies: AnomalyService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  async apply(input: ApplyPaymentInput): Promise<ApplyPaymentOutcome> {
    const [order] = await this.db.run((em) => select<OrderToApply>(em, ORDER_READ, [input.transactionId ?? null, input.orderNo]));
    if (!order) {
      if (input.status === 'paid')
        await this.anomalies.record(
          input.orderNo,
          'unknown_order',
          `transaction ${input.transactionId ?? '?'} for an order we never created`,
        );
      throw new OrderNotFoundError();
    }
    if (input.status !== 'paid') return this.applyUnpaid(order, input);

    const amountFen = orderFen(order);
    if (input.totalFen !== amountFen) {
      await this.anomalies.record(
        order.order_no,
        'amount_mismatch',
        `paid ${input.totalFen ?? '?'} fen, order is ${amountFen} fen (transaction ${input.transactionId ?? '?'})`,
      );
      throw new AmountMismatchError();
    }
    if (input.payerOpenid && input.payerOpenid !== order.openid) {
      await this.anomalies.record(
        order.order_no,
        'payer_mismatch',
        `payer ${maskId(input.payerOpenid)} is not the order's owner ${maskId(order.openid)}`,
      );
      throw new PayerMismatchError();
    }
    if (!input.transactionId) throw new DomainError(400, 'transaction_id: required when status is paid');
    // One WeChat Pay transaction pays one order: a signed result naming another order's transaction
    // would hit the unique key (a 500 WeChat retries for a day); it is refused for good instead.
    if (order.reused_by) throw await this.transactionReused(order.order_no, input.transactionId, order.reused_by);
    // Already decided (a duplicate notification, a query after the notification): statuses only
    // ever leave the payable set, so this read is final — answered without a write transaction.
    if (!PAYABLE.includes(order.status)) return { applied: false, orderStatus: order.status };

    return this.db
      .transaction((em) => this.applyPaid(em, order, input, amountFen))
      .catch(async (err: unknown) => {
        // The same transaction named by two orders at the same moment: the unique key decided, the
        // loser's transaction rolled back; its anomaly is written on its own.
        if (err instanceof TransactionReusedError)
          throw await this.transactionReused(order.order_no, input.transactionId!, 'another order');
        throw err;
      });
  }

  private async applyPaid(
    em: EntityManager,
    order: OrderToApply,
    input: ApplyPaymentInput,
    amountFen: number,
  ): Promise<ApplyPaymentOutcome> {
    const now = this.clock.now();
    // The gate names the status just read, so `before` is exact without a second read; when it
    // moved meanwhile (a close, a concurrent notification), read it again and decide once more.
    // Statuses only move forward (pending → failed/closed → paid), so this settles within a few reads.
    let before = order.status;
    for (let tries = 0; (await this.gate(em, order.order_no, before, input, amountFen, now)) !== 1; tries++) {
      const [current] = await select<{ status: OrderStatus }>(em, 'SELECT status FROM payment_orders WHERE order_no = ?', [order.order_no]);
      if (!PAYABLE.includes(current.status)) return { applied: false, orderStatus: current.status };
      if (tries >= 3) throw new Error(`order ${order.order_no}: status kept moving while a payment was applied`);
      before = current.status;
    }
    await execute(
      em,
      `INSERT INTO payment_records (order_no, openid, transaction_id, amount, payment_method, payment_time, notify_data, created_at)
       VALUES (?, ?, ?, ?, 'wechat_pay', ?, ?, ?)`,
      [order.order_no, order.openid, input.transactionId, fenToYuanString(amountFen), input.paidAt ?? now, input.raw ?? null, now],
    ).catch((err: unknown) => {
      throw isUniqueViolation(err) ? new TransactionReusedError() : err;
    });
    if (!order.has_user) await this.users.ensureIn(em, order.openid);
    const paidYuan = fenToYuanString(amountFen);
    if (order.order_type === 'member') await this.grantMembership(em, order, now, paidYuan);
    const credits = creditsGranted(order, this.config.pricing.memberBonusCredits);
    if (credits) {
      await this.ledger.apply(em, {
        openid: order.openid,
        reason: credits.reason,
        ref: order.order_no,
        change: grant(credits.credits),
        // A purchase moves the paid total with its entry; a membership's money moved with the membership.
        ...(credits.reason === 'purchase' ? { paidYuan } : {}),
      });
    }
    if (before === 'closed') {
      await this.anomalies.recordIn(
        em,
        order.order_no,
        'paid_after_close',
        `paid by transaction ${input.transactionId} after the order was closed`,
      );
    }
    this.logger.log(`order ${order.order_no} paid (${order.order_type}, ${amountFen} fen)`);
    return { applied: true, orderStatus: 'paid' as const };
  }

  private async transactionReused(orderNo: string, transactionId: string, owner: string): Promise<TransactionReusedError> {
    await this.anomalies.record(
      orderNo,
      'transaction_reused',
      `transaction ${transactionId} already paid ${owner === 'another order' ? owner : `order ${owner}`}`,
    );
    return new TransactionReusedError();
  }

  /** The single gate of a payment: the order moves to paid from exactly the status `from`. */
  private async gate(
    em: EntityManager,
    orderNo: string,
    from: OrderStatus,
    input: ApplyPaymentInput,
    amountFen: number,
    now: Date,
  ): Promise<number> {
    const r = await execute(
      em,
      `UPDATE payment_orders SET status = 'paid', paid_at = ?, wx_transaction_id = ?, wx_payment_no = ?, amount_fen = ?
       WHERE order_no = ? AND status = ?`,
      [input.paidAt ?? now, input.transactionId, input.transactionId, amountFen, orderNo, from],
    );
    return r.affected;
  }

  /** failed / closed only move a pending order; anything else is already decided. */
  private async applyUnpaid(order: OrderToApply, input: ApplyPaymentInput): Promise<ApplyPaymentOutcome> {
    return this.db.transaction(async (em) => {
      const now = this.clock.now();
      const res =
        input.status === 'failed'
          ? await execute(em, "UPDATE payment_orders SET status = 'failed', failure_reason = ? WHERE order_no = ? AND status = 'pending'", [
              (input.reason ?? 'payment failed').slice(0, 255),
              order.order_no,
            ])
          : await execute(em, "UPDATE payment_orders SET status = 'closed', closed_at = ? WHERE order_no = ? AND status = 'pending'", [
              now,
              order.order_no,
            ]);
      const [current] = await select<{ status: OrderStatus }>(em, 'SELECT status FROM payment_orders WHERE order_no = ?', [order.order_no]);
      return { applied: res.affected === 1, orderStatus: current.status };
    });
  }

  /**
   * Membership (MembershipService: lifetime, or timed and extended); its bonus credits follow
   * (`creditsGranted`). A membership bought by someone already a lifetime member is still applied
   * (money was taken) and flagged.
   */
  private async grantMembership(em: EntityManager, order: OrderToApply, now: Date, paidYuan: string): Promise<void> {
    const { wasLifetime } = await this.membership.grantIn(em, order.openid, now, paidYuan);
    if (wasLifetime) {
      await this.anomalies.recordIn(em, order.order_no, 'duplicate_membership', 'membership bought by a lifetime member: refund candidate');
    }
  }
}
