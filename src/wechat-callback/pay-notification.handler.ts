import { Injectable, Logger } from '@nestjs/common';
import { DomainError } from '../common/errors';
import { maskId } from '../common/redact';
import { AppConfig } from '../config/app-config';
import { InternalApi } from '../internal/internal-api';
import { MetricsService } from '../metrics/metrics.service';
import { NotificationHeaders, PaymentNotification, PayClient, PayNotification, RefundNotification } from '../wechat/pay/pay.client';
import { PayNotificationError } from '../wechat/pay/pay-errors';
import { CallbackBudget } from './callback-budget';
import { CallbackReply, CallbackRequest } from './callback-http';
import { answerPay, PayVerdict } from './pay-answer';

/** What sets one notify URL apart from the other; the sequence itself is PayNotificationHandler's. */
export interface PayNotifyUrl {
  /** The URL's own log context (`PayNotify`, `RefundNotify`: docs/ops.md names them). */
  readonly logger: Logger;
  /** How its log lines name what arrived. */
  readonly subject: 'notification' | 'refund notification';
  /** The `kind` metric label when the URL fixes it; else the verified notification's (`unverified` before). */
  readonly kind?: 'refund';
  /** Verifies and decodes the raw body with the configured PayClient; throws PayNotificationError. */
  verify(pay: PayClient, headers: NotificationHeaders, rawBody: Buffer): Promise<PayNotification>;
}

/**
 * The one sequence of both WeChat Pay notify URLs (docs/callbacks.md §3): verify and decode with
 * the PayClient of the configured version (a body of the other protocol is a bad signature), apply
 * through InternalApi within the callback's budget — payments by applyPayment, refund results by
 * applyRefund, other verified events by nothing — count it, and answer in WeChat Pay's own format
 * (pay-answer.ts). Never success for work not done, so WeChat retries until the database is back;
 * never touches the database itself.
 */
@Injectable()
export class PayNotificationHandler {
  constructor(
    private readonly pay: PayClient,
    private readonly internal: InternalApi,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {}

  async handle(url: PayNotifyUrl, req: CallbackRequest): Promise<CallbackReply> {
    const budget = new CallbackBudget(this.config.internal.timeoutMs);
    let verdict: PayVerdict;
    let kind: string = url.kind ?? 'unverified';
    try {
      const n = await url.verify(this.pay, req.headers, req.body);
      kind = url.kind ?? n.kind;
      verdict = await this.apply(n, budget, url.logger);
    } catch (err) {
      if (err instanceof PayNotificationError) {
        verdict = 'sign_error';
        url.logger.warn(`${url.subject} rejected: ${err.reason}`);
      } else {
        verdict = 'system_error';
        url.logger.error(`${url.subject} could not be verified: ${(err as Error).message}`);
      }
    }
    this.metrics.notifications.inc({ kind, result: verdict });
    return answerPay(this.pay.version, verdict);
  }

  private apply(n: PayNotification, budget: CallbackBudget, logger: Logger): Promise<PayVerdict> {
    if (n.kind === 'refund') return this.applyRefund(n, budget, logger);
    if (n.kind === 'payment') return this.applyPayment(n, budget, logger);
    logger.log(`notification ${n.eventType} verified; nothing to apply`);
    return Promise.resolve('success');
  }

  /**
   * A payment (or a failed payment) through InternalApi.applyPayment. An unknown order, an amount or
   * payer mismatch is refused (never credited; support sees the anomaly); unavailability is a
   * system error so WeChat retries.
   */
  private async applyPayment(n: PaymentNotification, budget: CallbackBudget, logger: Logger): Promise<PayVerdict> {
    try {
      const r = await budget.run((opts) =>
        this.internal.applyPayment(
          {
            order_no: n.orderNo,
            status: n.success ? 'paid' : 'failed',
            transaction_id: n.transactionId || undefined,
            total_fen: n.success ? n.totalFen : undefined,
            payer_openid: n.payerOpenid || undefined,
            paid_at: n.paidAt?.toISOString(),
            raw: n.raw,
          },
          opts,
        ),
      );
      logger.log(`order ${n.orderNo}: ${r.applied ? 'applied' : 'already applied'} (${r.order_status})`);
      return 'success';
    } catch (err) {
      if (err instanceof DomainError && err.status < 500) {
        // Unknown order, amount or payer mismatch: never credited; support sees the anomaly.
        logger.error(`order ${n.orderNo} refused (${err.detail}); payer ${maskId(n.payerOpenid)}, ${n.totalFen} fen`);
        return 'order_mismatch';
      }
      logger.warn(`order ${n.orderNo} not applied now (${(err as Error).message}); WeChat will retry`);
      return 'system_error';
    }
  }

  /**
   * A refund result through InternalApi.applyRefund. A refund we never asked for, or one whose
   * amounts differ from ours, is refused (nothing changes; support sees the anomaly);
   * unavailability is a system error so WeChat retries.
   */
  private async applyRefund(n: RefundNotification, budget: CallbackBudget, logger: Logger): Promise<PayVerdict> {
    try {
      const r = await budget.run((opts) =>
        this.internal.applyRefund(
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
}
