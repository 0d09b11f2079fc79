import { Controller, HttpCode, Logger, Post, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { PayNotificationHandler, PayNotifyUrl } from './pay-notification.handler';

/**
 * `POST /api/v1/payment/refund-notify` (`WECHAT_PAY_REFUND_NOTIFY_URL`, docs/ops.md): v2 refund results
 * (`req_info`, AES-256-ECB under MD5 of the v2 key; no `sign`), and a v3 refund event should one be
 * sent here; anything else is refused. Verified, applied through InternalApi.applyRefund and
 * answered by PayNotificationHandler; the raw body is kept by app.setup (CALLBACK_PATHS).
 */
@ApiTags('wechat callbacks')
@Controller('api/v1/payment/refund-notify')
export class RefundNotifyController {
  private readonly url: PayNotifyUrl = {
    logger: new Logger('RefundNotify'),
    subject: 'refund notification',
    kind: 'refund',
    verify: (pay, headers, rawBody) => pay.verifyRefundNotification(headers, rawBody),
  };

  constructor(private readonly notifications: PayNotificationHandler) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({ summary: 'WeChat Pay refund result notification (v2 req_info; v3 refund events are accepted too)' })
  notify(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.notifications.handle(this.url, req, res);
  }
}
