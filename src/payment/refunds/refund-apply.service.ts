import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Clock } from '../../common/clock';
import { fenToYuanString } from '../../config/money';
import { DatabaseService } from '../../database/database.service';
import { execute } from '../../database/sql';
import { LedgerService, takeBack } from '../../user/ledger.service';
import { MembershipService } from '../../user/membership.service';
import { UserService } from '../../user/user.service';
import { AnomalyService } from '../anomaly.service';
import type { OrderStatus } from '../entities/payment-order.entity';
import type { RefundStatus } from '../entities/payment-refund.entity';
import { orderFen } from '../orders/order-row';
import { OrderFacts, OrderRepository } from '../orders/order.repository';
import { settleRefund } from './refund-rules';
import { RefundMismatchError, RefundNotFoundError } from './refund.errors';
import { RefundRepository, RefundRow } from './refund.repository';

/** WeChat's result for one refund, as a notification or a query reports it. */
export interface ApplyRefundInput {
  refundNo: string;
  orderNo: string;
  status: 'success' | 'closed' | 'abnormal';
  refundFen: number;
  totalFen: number;
  wxRefundId?: string;
  successAt?: Date;
  raw?: string;
}

export interface ApplyRefundOutcome {
  applied: boolean;
  refundStatus: RefundStatus;
  orderStatus: OrderStatus;
}

/**
 * Applying WeChat's result for a refund we asked for (docs/data.md "Refunds"): the single gate every
 * notification, query and retry passes through — a conditional status update, then, only for the
 * caller that moved it, the `payment_refund` ledger entry (UNIQUE reason+ref = refund_no), capped at
 * the balance, the shortfall as an anomaly, the order `refunded` once fully refunded, and a fully
 * refunded membership ended (the numbers: refund-rules.ts `settleRefund`). Identical on MySQL and
 * SQLite, no SELECT … FOR UPDATE.
 */
@Injectable()
export class RefundApplyService {
  // The log context of refunds since before the split into request and apply.
  private readonly logger = new Logger('RefundService');

  constructor(
    private readonly db: DatabaseService,
    private readonly refunds: RefundRepository,
    private readonly orders: OrderRepository,
    private readonly ledger: LedgerService,
    private readonly users: UserService,
    private readonly membership: MembershipService,
    private readonly anomalies: AnomalyService,
    private readonly clock: Clock,
  ) {}

  /**
   * Applies WeChat's result exactly once. Unknown refund → 404 and an anomaly; a result whose order
   * or amounts differ from ours → 409 and an anomaly (never applied).
   */
  async apply(input: ApplyRefundInput): Promise<ApplyRefundOutcome> {
    const row = await this.refunds.findByRefundNo(input.refundNo);
    if (!row) {
      await this.anomalies.record(
        input.orderNo,
        'unknown_refund',
        `WeChat reports refund ${input.refundNo} (${input.status}, ${input.refundFen} fen) that we never asked for`,
      );
      throw new RefundNotFoundError();
    }
    if (row.order_no !== input.orderNo || row.amount_fen !== input.refundFen || row.total_fen !== input.totalFen) {
      await this.anomalies.record(
        row.order_no,
        'refund_mismatch',
        `refund ${row.refund_no}: WeChat says order ${input.orderNo}, ${input.refundFen} of ${input.totalFen} fen; ours is ${row.amount_fen} of ${row.total_fen} fen`,
      );
      throw new RefundMismatchError();
    }
    if (input.status === 'success') return this.applySuccess(row, input);
    return this.applyUnsuccessful(row, input);
  }

  private applySuccess(row: RefundRow, input: ApplyRefundInput): Promise<ApplyRefundOutcome> {
    return this.db.transaction(async (em) => {
      const now = this.clock.now();
      // Order row lock first: the refunds of one order are applied one at a time (cumulative credits).
      await this.orders.lockIn(em, row.order_no);
      const gate = await execute(
        em,
        `UPDATE payment_refunds SET status = 'success', completed_at = ?, wx_refund_id = COALESCE(?, wx_refund_id), raw = ?
         WHERE refund_no = ? AND status IN ('pending', 'processing', 'abnormal', 'failed')`,
        [input.successAt ?? now, input.wxRefundId || null, input.raw ?? null, row.refund_no],
      );
      if (gate.affected !== 1) return this.current(em, row);

      const order = (await this.orders.findIn(em, row.order_no))!;
      const fen = orderFen(order);
      const granted = await this.ledger.grantedByOrder(em, row.order_no);
      const { refundedFen, dueBefore } = await this.refunds.successfulIn(em, row.order_no, row.refund_no);
      // Lock the user's row, then read the balance it may take back (never below zero).
      await this.users.lockIn(em, order.openid);
      const balance = await this.ledger.balance(em, order.openid);
      const { due, taken, shortfall, fully } = settleRefund({ granted, orderFen: fen, refundedFenTotal: refundedFen, dueBefore, balance });

      if (taken > 0)
        await this.ledger.apply(em, { openid: order.openid, reason: 'payment_refund', ref: row.refund_no, change: takeBack(taken) });
      if (shortfall > 0) {
        await this.anomalies.recordIn(
          em,
          row.order_no,
          'refund_shortfall',
          `refund ${row.refund_no}: ${due} credits due back, the balance allowed ${taken}; ${shortfall} could not be taken back`,
        );
      }
      await execute(em, 'UPDATE payment_refunds SET credits_due = ?, credits_taken = ? WHERE refund_no = ?', [due, taken, row.refund_no]);
      // total_paid_amount is what the user paid net of refunds.
      await this.membership.refundPaidIn(em, order.openid, fenToYuanString(row.amount_fen));

      let orderStatus = order.status;
      if (fully) {
        const res = await execute(em, "UPDATE payment_orders SET status = 'refunded' WHERE order_no = ? AND status = 'paid'", [
          row.order_no,
        ]);
        if (res.affected === 1) orderStatus = 'refunded';
        if (order.order_type === 'member') await this.endMembership(em, order, now);
      }
      this.logger.log(
        `refund ${row.refund_no} of ${row.order_no} succeeded: ${row.amount_fen} fen, ${taken}/${due} credits taken back${fully ? ', order refunded' : ''}`,
      );
      return { applied: true, refundStatus: 'success' as const, orderStatus };
    });
  }

  /** A fully refunded membership order: MembershipService ends it, or keeps/shortens it when another paid one stands. */
  private async endMembership(em: EntityManager, order: OrderFacts, now: Date): Promise<void> {
    const anotherStands = await this.orders.anotherPaidMembershipIn(em, order.openid, order.order_no);
    if ((await this.membership.refundIn(em, order.openid, now, anotherStands)) === 'ended') {
      this.logger.log(`membership of order ${order.order_no} ended by its refund`);
    }
  }

  /** CLOSED (final, nothing refunded) and ABNORMAL (refund to the payer's card failed): recorded for support. */
  private applyUnsuccessful(row: RefundRow, input: ApplyRefundInput): Promise<ApplyRefundOutcome> {
    return this.db.transaction(async (em) => {
      const now = this.clock.now();
      const res =
        input.status === 'closed'
          ? await execute(
              em,
              "UPDATE payment_refunds SET status = 'closed', completed_at = ?, raw = ? WHERE refund_no = ? AND status IN ('pending', 'processing', 'abnormal')",
              [now, input.raw ?? null, row.refund_no],
            )
          : await execute(
              em,
              "UPDATE payment_refunds SET status = 'abnormal', raw = ? WHERE refund_no = ? AND status IN ('pending', 'processing')",
              [input.raw ?? null, row.refund_no],
            );
      if (res.affected !== 1) return this.current(em, row);
      await this.anomalies.recordIn(
        em,
        row.order_no,
        input.status === 'closed' ? 'refund_closed' : 'refund_abnormal',
        input.status === 'closed'
          ? `refund ${row.refund_no} (${row.amount_fen} fen) was closed by WeChat Pay: nothing refunded; ask again with a new request_id`
          : `refund ${row.refund_no} (${row.amount_fen} fen) is abnormal at WeChat Pay (the payer's account refused it): finish it in the merchant console`,
      );
      return this.current(em, row, true);
    });
  }

  private async current(em: EntityManager, row: RefundRow, applied = false): Promise<ApplyRefundOutcome> {
    const refundStatus = await this.refunds.statusIn(em, row.refund_no);
    const order = await this.orders.findIn(em, row.order_no);
    return { applied, refundStatus, orderStatus: order!.status };
  }
}
