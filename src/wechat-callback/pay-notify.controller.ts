import { Controller, HttpCode, Logger, Post, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { PayNotificationHandler, PayNotifyUrl } from './pay-notification.handler';

/**
 * `POST /api/v1/payment/notify` (docs/callbacks.md §3): payments, and refund results that reach it
 * (v3 REFUND.SUCCESS / ABNORMAL / CLOSED; a v2 `req_info`). Verified, applied through InternalApi
 * and answered in WeChat Pay's formats by PayNotificationHandler.
 */
@ApiTags('wechat callbacks')
@Controller('api/v1/payment/notify')
export class PayNotifyController {
  private readonly url: PayNotifyUrl = {
    logger: new Logger('PayNotify'),
    subject: 'notification',
    verify: (pay, headers, rawBody) => pay.verifyNotification(headers, rawBody),
  };

  constructor(private readonly notifications: PayNotificationHandler) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({ summary: 'WeChat Pay notification (v2 XML or v3 JSON by WECHAT_PAY_VERSION): payments, v3 refund results' })
  notify(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.notifications.handle(this.url, req, res);
  }
}
