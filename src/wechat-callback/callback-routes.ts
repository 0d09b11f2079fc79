import { Injectable, Logger } from '@nestjs/common';
import { CallbackRoute } from './callback-http';
import { PayNotificationHandler, PayNotifyUrl } from './pay-notification.handler';
import { ServerUrlEndpoint } from './server-url.endpoint';

/**
 * The URLs WeChat calls (docs/callbacks.md), all in one table: served by the callback lane
 * (callback-lane.ts) before Express, and listed in the OpenAPI document by app.setup. Their query
 * strings never reach a log line: common/redact.ts CALLBACK_PATHS names the same paths (held
 * together by callback-routes.spec.ts).
 */
@Injectable()
export class CallbackRoutes {
  readonly routes: readonly CallbackRoute[];

  constructor(serverUrl: ServerUrlEndpoint, notifications: PayNotificationHandler) {
    /** Payments, and refund results that reach it (v3 REFUND.SUCCESS / ABNORMAL / CLOSED; a v2 `req_info`). */
    const payments: PayNotifyUrl = {
      logger: new Logger('PayNotify'),
      subject: 'notification',
      verify: (pay, headers, rawBody) => pay.verifyNotification(headers, rawBody),
    };
    /**
     * `WECHAT_PAY_REFUND_NOTIFY_URL` (docs/ops.md): v2 refund results (`req_info`, AES-256-ECB under
     * MD5 of the v2 key; no `sign`), and a v3 refund event should one be sent here; anything else is refused.
     */
    const refunds: PayNotifyUrl = {
      logger: new Logger('RefundNotify'),
      subject: 'refund notification',
      kind: 'refund',
      verify: (pay, headers, rawBody) => pay.verifyRefundNotification(headers, rawBody),
    };
    this.routes = [
      {
        method: 'GET',
        path: '/api/v1/auth/wechat/verify',
        summary: 'WeChat server URL verification: answers echostr (decrypted in safe mode); 403 when not signed by WeChat',
        handle: (req) => serverUrl.verify(req),
      },
      {
        method: 'POST',
        path: '/api/v1/auth/wechat/verify',
        summary: 'WeChat message/event push (plaintext, compatible or safe mode); passive XML reply; 403/400/503 otherwise',
        handle: (req) => serverUrl.push(req),
      },
      {
        method: 'POST',
        path: '/api/v1/payment/notify',
        summary: 'WeChat Pay notification (v2 XML or v3 JSON by WECHAT_PAY_VERSION): payments, v3 refund results',
        handle: (req) => notifications.handle(payments, req),
      },
      {
        method: 'POST',
        path: '/api/v1/payment/refund-notify',
        summary: 'WeChat Pay refund result notification (v2 req_info; v3 refund events are accepted too)',
        handle: (req) => notifications.handle(refunds, req),
      },
    ];
  }
}
