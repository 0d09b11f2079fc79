import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../../common/clock';
import { AppConfig } from '../../config/app-config';
import { DatabaseService } from '../../database/database.service';
import { execute, insertIgnore } from '../../database/sql';
import { PayApiError, PayResponseSignatureError, PayUnavailableError } from '../../wechat/pay/pay-errors';
import { PayClient, RefundResult } from '../../wechat/pay/pay.client';
import type { OrderStatus } from '../entities/payment-order.entity';
import { isDuplicateNumber, newRefundNo, NUMBER_TRIES } from '../numbers';
import { orderFen } from '../orders/order-row';
import { OrderRepository } from '../orders/order.repository';
import { OrderNotFoundError } from '../payment.errors';
import { RefundApplyService } from './refund-apply.service';
import { refundAmount } from './refund-rules';
import { RefundView, refundView } from './refund-view';
import { RefundNotFoundError, RefundRefusedError, RefundUnconfirmedError, RequestIdReusedError } from './refund.errors';
import { RefundRepository, RefundRow } from './refund.repository';

export interface RequestRefundInput {
  orderNo: string;
  /** Default: what is left of the order after earlier refunds (the full amount the first time). */
  amountFen?: number;
  note: string;
  /** The caller's idempotency key: the same request_id again never refunds twice. */
  requestId: string;
}

export interface RequestRefundOutcome {
  /** false: this request_id was seen before; the refund it created is reported (and moved on if it can be). */
  created: boolean;
  refund: RefundView;
  orderStatus: OrderStatus;
}

/**
 * Asking WeChat Pay for refunds (docs/ops.md "Refunds"): an admin or operator asks for one
 * (idempotent per request_id; the amount decided by refund-rules.ts `refundAmount`), WeChat Pay is
 * asked (v2 secapi/pay/refund, v3 /v3/refund/domestic/refunds) and the order stays `paid` until
 * WeChat reports the result, which RefundApplyService applies. `sync` moves a refund on whose
 * answer or notification was lost (RefundSyncJob, a repeated request).
 */
@Injectable()
export class RefundRequestService {
  // The log context of refunds since before the split into request and apply.
  private readonly logger = new Logger('RefundService');

  constructor(
    private readonly db: DatabaseService,
    private readonly pay: PayClient,
    private readonly refunds: RefundRepository,
    private readonly orders: OrderRepository,
    private readonly results: RefundApplyService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  async requestRefund(input: RequestRefundInput): Promise<RequestRefundOutcome> {
    const seen = await this.refunds.findByRequestId(input.requestId);
    if (seen) return this.resume(seen, input.orderNo);

    if (!(await this.orders.find(input.orderNo))) throw new OrderNotFoundError();
    const recorded = await this.db.transaction(async (em) => {
      // The order's row lock: refunds of one order are decided one at a time.
      await this.orders.lockIn(em, input.orderNo);
      // The same request_id that raced us here got the lock first: report its refund instead.
      if (await this.refunds.refundNoOfRequestIn(em, input.requestId)) return null;
      const o = (await this.orders.findIn(em, input.orderNo))!;
      const fen = orderFen(o);
      const amountFen = refundAmount(o.status, fen, await this.refunds.heldFenIn(em, input.orderNo), input.amountFen);
      const now = this.clock.now();
      for (let attempt = 1; ; attempt++) {
        const refundNo = newRefundNo(now);
        try {
          const res = await execute(
            em,
            `${insertIgnore(em)} payment_refunds (refund_no, request_id, order_no, openid, amount_fen, total_fen, status, pay_version, note, created_at)
             VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)`,
            [refundNo, input.requestId, input.orderNo, o.openid, amountFen, fen, this.pay.version, input.note.slice(0, 255), now],
          );
          if (res.affected === 1) return refundNo;
          // Ignored: the request_id was taken meanwhile (or, astronomically, the refund_no).
          if ((await this.refunds.refundNoOfRequestIn(em, input.requestId)) || attempt >= NUMBER_TRIES) return null;
        } catch (err) {
          if (attempt >= NUMBER_TRIES || !isDuplicateNumber(err)) throw err;
        }
      }
    });
    const row = await this.refunds.findByRequestId(input.requestId);
    if (!row) throw new Error('refund row vanished after insert');
    if (!recorded) return this.resume(row, input.orderNo);
    this.logger.log(`refund ${row.refund_no} of ${row.order_no} recorded (${row.amount_fen} of ${row.total_fen} fen)`);
    await this.send(row);
    return this.outcome(row.refund_no, true);
  }

  /** A request_id seen before: report its refund, and move it on (resend when WeChat's answer was lost, query when processing). */
  private async resume(row: RefundRow, orderNo: string): Promise<RequestRefundOutcome> {
    if (row.order_no !== orderNo) throw new RequestIdReusedError();
    if (row.status === 'pending') await this.send(row);
    else if (row.status === 'processing')
      await this.sync(row.refund_no).catch((err) => this.logger.warn(`refund ${row.refund_no} query failed: ${(err as Error).message}`));
    return this.outcome(row.refund_no, false);
  }

  /**
   * Asks WeChat Pay; resending a pending refund is safe (the same out_refund_no is the same refund).
   * A refusal marks it failed (nothing was refunded); no answer leaves it pending for a retry.
   */
  private async send(row: RefundRow): Promise<void> {
    let result: RefundResult;
    try {
      result = await this.pay.refund({
        orderNo: row.order_no,
        refundNo: row.refund_no,
        totalFen: row.total_fen,
        refundFen: row.amount_fen,
        // v3 results arrive with the payments (docs/callbacks.md §3); v2 on their own URL.
        notifyUrl: this.pay.version === 'v3' ? this.config.pay.notifyUrl : this.config.pay.refundNotifyUrl,
        reason: row.note ?? undefined,
      });
    } catch (err) {
      if (err instanceof PayApiError) {
        const reason = `${err.code}${err.message ? ` ${err.message}` : ''}`.slice(0, 255);
        await this.db.run((em) =>
          execute(em, "UPDATE payment_refunds SET status = 'failed', failure_reason = ? WHERE refund_no = ? AND status = 'pending'", [
            reason,
            row.refund_no,
          ]),
        );
        this.logger.warn(`refund ${row.refund_no} refused by WeChat Pay: ${reason}`);
        throw new RefundRefusedError(reason);
      }
      if (err instanceof PayUnavailableError || err instanceof PayResponseSignatureError) {
        this.logger.warn(`refund ${row.refund_no} not confirmed by WeChat Pay (${err.message}); still pending`);
        throw new RefundUnconfirmedError();
      }
      throw err;
    }
    await this.db.run((em) =>
      execute(
        em,
        "UPDATE payment_refunds SET status = 'processing', wx_refund_id = COALESCE(?, wx_refund_id) WHERE refund_no = ? AND status = 'pending'",
        [result.wxRefundId ?? null, row.refund_no],
      ),
    );
    await this.applyResult(row, result);
  }

  /** Asks WeChat Pay for a refund's state and applies a final one (jobs, a repeated request). */
  async sync(refundNo: string): Promise<void> {
    const row = await this.refunds.findByRefundNo(refundNo);
    if (!row) throw new RefundNotFoundError();
    if (row.status === 'pending') return this.send(row);
    if (row.status !== 'processing' && row.status !== 'abnormal') return;
    const result = await this.pay.queryRefund(refundNo);
    if (result.state === 'NOT_FOUND') {
      this.logger.warn(`refund ${refundNo} is ${row.status} here but unknown to WeChat Pay`);
      return;
    }
    await this.applyResult(row, result);
  }

  /** A final state WeChat answered with goes through the same gate as a notification. */
  private async applyResult(row: RefundRow, r: RefundResult): Promise<void> {
    if (r.state !== 'SUCCESS' && r.state !== 'CLOSED' && r.state !== 'ABNORMAL') return;
    await this.results.apply({
      refundNo: row.refund_no,
      orderNo: row.order_no,
      status: r.state === 'SUCCESS' ? 'success' : r.state === 'CLOSED' ? 'closed' : 'abnormal',
      refundFen: r.refundFen ?? row.amount_fen,
      totalFen: r.totalFen ?? row.total_fen,
      wxRefundId: r.wxRefundId,
      successAt: r.successAt,
      raw: r.raw,
    });
  }

  private async outcome(refundNo: string, created: boolean): Promise<RequestRefundOutcome> {
    const row = (await this.refunds.findByRefundNo(refundNo))!;
    const order = await this.orders.find(row.order_no);
    return { created, refund: refundView(row), orderStatus: order!.status };
  }
}
