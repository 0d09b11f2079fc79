import { Controller, HttpCode, Logger, Post, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { DomainError } from '../common/errors';
import { maskId } from '../common/redact';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { InternalApi } from '../internal/internal-api';
import { PayNotificationError } from '../wechat/pay/pay-errors';
import { PaymentNotification, PayClient } from '../wechat/pay/pay.client';
import { CallbackBudget } from './callback-budget';
import { answerPay, applyRefundNotification, PayVerdict } from './pay-answer';

/**
 * `POST /api/v1/payment/notify` (docs/callbacks.md §3): verified and decoded by the PayClient of the
 * configured version (a body of the other protocol is a bad signature), then applied through
 * InternalApi within the callback's budget: payments by applyPayment, refund results (v3
 * REFUND.SUCCESS / ABNORMAL / CLOSED; a v2 `req_info` that reached this URL) by applyRefund.
 * Answers in WeChat Pay's own formats; never success for work not done, so WeChat retries until
 * the database is back.
 */
@ApiTags('wechat callbacks')
@Controller('api/v1/payment/notify')
export class PayNotifyController {
  private readonly logger = new Logger('PayNotify');

  constructor(
    private readonly pay: PayClient,
    private readonly internal: InternalApi,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({ summary: 'WeChat Pay notification (v2 XML or v3 JSON by WECHAT_PAY_VERSION): payments, v3 refund results' })
  async notify(@Req() req: Request, @Res() res: Response): Promise<void> {
    const budget = new CallbackBudget(this.config.internal.timeoutMs);
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    let verdict: PayVerdict;
    let kind = 'unverified';
    try {
      const n = await this.pay.verifyNotification(req.headers, body);
      kind = n.kind;
      if (n.kind === 'other') {
        this.logger.log(`notification ${n.eventType} verified; nothing to apply`);
        verdict = 'success';
      } else if (n.kind === 'refund') {
        verdict = await applyRefundNotification(this.internal, n, budget, this.logger);
      } else {
        verdict = await this.apply(n, budget);
      }
    } catch (err) {
      if (err instanceof PayNotificationError) {
        verdict = 'sign_error';
        this.logger.warn(`notification rejected: ${err.reason}`);
      } else {
        verdict = 'system_error';
        this.logger.error(`notification could not be verified: ${(err as Error).message}`);
      }
    }
    this.metrics.notifications.inc({ kind, result: verdict });
    answerPay(res, this.pay.version, verdict);
  }

  private async apply(n: PaymentNotification, budget: CallbackBudget): Promise<PayVerdict> {
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
      this.logger.log(`order ${n.orderNo}: ${r.applied ? 'applied' : 'already applied'} (${r.order_status})`);
      return 'success';
    } catch (err) {
      if (err instanceof DomainError && err.status < 500) {
        // Unknown order, amount or payer mismatch: never credited; support sees the anomaly.
        this.logger.error(`order ${n.orderNo} refused (${err.detail}); payer ${maskId(n.payerOpenid)}, ${n.totalFen} fen`);
        return 'order_mismatch';
      }
      this.logger.warn(`order ${n.orderNo} not applied now (${(err as Error).message}); WeChat will retry`);
      return 'system_error';
    }
  }
}
