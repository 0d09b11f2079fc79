import { Controller, HttpCode, Logger, Post, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { InternalApi } from '../internal/internal-api';
import { PayNotificationError } from '../wechat/pay/pay-errors';
import { PayClient } from '../wechat/pay/pay.client';
import { CallbackBudget } from './callback-budget';
import { answerPay, applyRefundNotification, PayVerdict } from './pay-answer';

/**
 * `POST /api/v1/payment/refund-notify` (`WECHAT_PAY_REFUND_NOTIFY_URL`, docs/ops.md): v2 refund results
 * (`req_info`, AES-256-ECB under MD5 of the v2 key; no `sign`), and a v3 refund event should one be
 * sent here. Verified and decrypted by the PayClient, applied through InternalApi.applyRefund; the
 * raw body is kept by app.setup (CALLBACK_PATHS). Never touches the database itself.
 */
@ApiTags('wechat callbacks')
@Controller('api/v1/payment/refund-notify')
export class RefundNotifyController {
  private readonly logger = new Logger('RefundNotify');

  constructor(
    private readonly pay: PayClient,
    private readonly internal: InternalApi,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({ summary: 'WeChat Pay refund result notification (v2 req_info; v3 refund events are accepted too)' })
  async notify(@Req() req: Request, @Res() res: Response): Promise<void> {
    const budget = new CallbackBudget(this.config.internal.timeoutMs);
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    let verdict: PayVerdict;
    try {
      const n = await this.pay.verifyRefundNotification(req.headers, body);
      verdict = await applyRefundNotification(this.internal, n, budget, this.logger);
    } catch (err) {
      if (err instanceof PayNotificationError) {
        verdict = 'sign_error';
        this.logger.warn(`refund notification rejected: ${err.reason}`);
      } else {
        verdict = 'system_error';
        this.logger.error(`refund notification could not be verified: ${(err as Error).message}`);
      }
    }
    this.metrics.notifications.inc({ kind: 'refund', result: verdict });
    answerPay(res, this.pay.version, verdict);
  }
}
