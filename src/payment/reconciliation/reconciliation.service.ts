import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../../common/clock';
import { DomainError } from '../../common/errors';
import { maskId } from '../../common/redact';
import { toDate } from '../../database/sql';
import { PayApiError } from '../../wechat/pay/pay-errors';
import { isBillDate, PayClient, TradeBillRow } from '../../wechat/pay/pay.client';
import type { AnomalyKind } from '../entities/payment-anomaly.entity';
import { orderFen } from '../orders/order-row';
import { OrderRepository } from '../orders/order.repository';
import { RefundRepository } from '../refunds/refund.repository';
import { PaymentApplyService } from '../orders/payment-apply.service';
import { shanghaiDate, shanghaiDay } from '../../common/time-format';

/**
 * - `paid_not_here`: WeChat has a successful payment the order here does not show (lost notification,
 *   or an order number we never created). Applied through the normal payment path when asked.
 * - `not_paid_at_wechat`: paid here, no successful payment that day in WeChat's bill.
 * - `amount_mismatch`: both sides know the payment, the amounts differ (never applied).
 * - `refund_not_here`: WeChat's bill has a successful refund that is not a completed refund here.
 */
export type ReconcileDifferenceKind = 'paid_not_here' | 'not_paid_at_wechat' | 'amount_mismatch' | 'refund_not_here';

export interface ReconcileDifference {
  kind: ReconcileDifferenceKind;
  order_no: string;
  transaction_id: string | null;
  refund_no?: string;
  wechat_amount_fen: number | null;
  our_amount_fen: number | null;
  /** null: no such order here. */
  our_status: string | null;
  /** paid_not_here only: whether this run applied the payment (false: refused, or not asked to apply). */
  applied?: boolean;
  note?: string;
}

export interface ReconcileReport {
  date: string;
  pay_version: 'v2' | 'v3';
  bill_lines: number;
  /** Successful payments in WeChat's bill / paid orders here for that day (Asia/Shanghai). */
  wechat_payments: number;
  our_payments: number;
  matched: number;
  differences: ReconcileDifference[];
}

/** The anomaly a difference is recorded as by the daily job. */
export const DIFFERENCE_ANOMALY: Record<ReconcileDifferenceKind, AnomalyKind> = {
  paid_not_here: 'bill_paid_not_here',
  not_paid_at_wechat: 'bill_not_paid_at_wechat',
  amount_mismatch: 'bill_amount_mismatch',
  refund_not_here: 'bill_refund_not_here',
};

/**
 * Reconciliation (docs/ops.md): WeChat Pay's trade bill for a day against our orders. Payments WeChat
 * took that we do not show are applied through PaymentApplyService — the same single gate as
 * notifications and active queries, so a payment is never applied twice whoever finds it first.
 */
@Injectable()
export class ReconciliationService {
  private readonly logger = new Logger(ReconciliationService.name);

  constructor(
    private readonly orders: OrderRepository,
    private readonly refunds: RefundRepository,
    private readonly pay: PayClient,
    private readonly payments: PaymentApplyService,
    private readonly clock: Clock,
  ) {}

  async reconcile(date: string, options: { apply: boolean }): Promise<ReconcileReport> {
    if (!isBillDate(date)) throw new DomainError(400, 'date: must be YYYY-MM-DD');
    if (date > shanghaiDate(this.clock.now())) throw new DomainError(400, 'date: must not be in the future');
    let bill: TradeBillRow[];
    try {
      bill = await this.pay.downloadTradeBill(date);
    } catch (err) {
      const reason = err instanceof PayApiError ? `${err.code}${err.message ? ` ${err.message}` : ''}` : '微信支付暂不可用';
      this.logger.warn(`trade bill ${date} not downloaded: ${(err as Error).message}`);
      throw new DomainError(502, `对账单下载失败: ${reason.slice(0, 120)}`);
    }

    const { start, end } = shanghaiDay(date);
    const paidLines = bill.filter((l) => l.tradeState === 'SUCCESS');
    const refundLines = bill.filter((l) => l.tradeState === 'REFUND' && (l.refundStatus === '' || l.refundStatus === 'SUCCESS'));
    const ours = await this.orders.paidBetween(start, end);
    const known = await this.orders.byNumbers(paidLines.map((l) => l.orderNo));
    for (const o of ours) known.set(o.order_no, o);

    const differences: ReconcileDifference[] = [];
    let matched = 0;
    const paidAtWechat = new Set<string>();
    for (const line of paidLines) {
      paidAtWechat.add(line.orderNo);
      const order = known.get(line.orderNo);
      const base = { order_no: line.orderNo, transaction_id: line.transactionId || null, wechat_amount_fen: line.totalFen };
      if (!order) {
        differences.push({
          kind: 'paid_not_here',
          ...base,
          our_amount_fen: null,
          our_status: null,
          applied: false,
          note: 'no such order here',
        });
        continue;
      }
      const ourFen = orderFen(order);
      const mine = { our_amount_fen: ourFen, our_status: order.status };
      if (ourFen !== line.totalFen) {
        differences.push({ kind: 'amount_mismatch', ...base, ...mine });
        continue;
      }
      if (order.status === 'paid' || order.status === 'refunded') {
        matched++;
        continue;
      }
      const diff: ReconcileDifference = { kind: 'paid_not_here', ...base, ...mine, applied: false };
      if (options.apply) await this.applyLost(date, line, diff);
      differences.push(diff);
    }
    for (const o of ours) {
      if (paidAtWechat.has(o.order_no)) continue;
      differences.push({
        kind: 'not_paid_at_wechat',
        order_no: o.order_no,
        transaction_id: o.wx_transaction_id,
        wechat_amount_fen: null,
        our_amount_fen: orderFen(o),
        our_status: o.status,
        note: `paid here at ${toDate(o.paid_at)?.toISOString() ?? '?'}`,
      });
    }
    const refunds = await this.refunds.byNumbers(refundLines.map((l) => l.refundNo).filter((n) => n !== ''));
    for (const line of refundLines) {
      const ours = refunds.get(line.refundNo);
      if (ours?.status === 'success') continue;
      differences.push({
        kind: 'refund_not_here',
        order_no: line.orderNo,
        transaction_id: line.transactionId || null,
        refund_no: line.refundNo,
        wechat_amount_fen: line.refundFen,
        our_amount_fen: ours ? Number(ours.amount_fen) : null,
        our_status: ours?.status ?? null,
        note: ours ? `refund is ${ours.status} here` : 'no such refund here',
      });
    }

    this.logger.log(`reconciled ${date}: ${bill.length} bill lines, ${matched} matched, ${differences.length} differences`);
    return {
      date,
      pay_version: this.pay.version,
      bill_lines: bill.length,
      wechat_payments: paidLines.length,
      our_payments: ours.length,
      matched,
      differences,
    };
  }

  /** Paid at WeChat, not here: through the normal payment path (amount and payer checked there), once. */
  private async applyLost(date: string, line: TradeBillRow, diff: ReconcileDifference): Promise<void> {
    try {
      const r = await this.payments.apply({
        orderNo: line.orderNo,
        status: 'paid',
        transactionId: line.transactionId,
        totalFen: line.totalFen,
        payerOpenid: line.openid || undefined,
        paidAt: line.tradeTime ?? undefined,
        raw: `trade bill ${date}: ${JSON.stringify(line)}`,
      });
      diff.applied = r.applied;
      diff.note = r.applied ? 'applied from the trade bill' : `already ${r.orderStatus}`;
      this.logger.log(
        `order ${line.orderNo} ${r.applied ? 'applied' : 'not applied'} from the trade bill of ${date} (payer ${maskId(line.openid)})`,
      );
    } catch (err) {
      diff.note = err instanceof DomainError ? `refused: ${err.detail}` : `not applied: ${(err as Error).message}`;
      this.logger.warn(`order ${line.orderNo} from the trade bill of ${date} not applied: ${diff.note}`);
    }
  }
}
