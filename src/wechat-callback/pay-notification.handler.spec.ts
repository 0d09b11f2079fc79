import { Logger } from '@nestjs/common';
import { DomainError } from '../common/errors';
import type { AppConfig } from '../config/app-config';
import type { InternalApi } from '../internal/internal-api';
import type { MetricsService } from '../metrics/metrics.service';
import type { PayClient, PayNotification } from '../wechat/pay/pay.client';
import { PayNotificationError } from '../wechat/pay/pay-errors';
import type { CallbackRequest } from './callback-http';
import { PayNotificationHandler, PayNotifyUrl } from './pay-notification.handler';

const PAYMENT: PayNotification = {
  kind: 'payment',
  success: true,
  orderNo: 'ORD1',
  transactionId: '4200001',
  totalFen: 990,
  payerOpenid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
  paidAt: new Date('2024-04-25T09:14:58Z'),
  raw: '{}',
};

const REFUND: PayNotification = {
  kind: 'refund',
  status: 'SUCCESS',
  orderNo: 'ORD1',
  refundNo: 'RF1',
  wxRefundId: '5000001',
  refundFen: 500,
  totalFen: 990,
  raw: '<root/>',
};

function setup(version: 'v2' | 'v3', verified: () => Promise<PayNotification>, applyError?: Error) {
  const applied: string[] = [];
  const counted: Array<Record<string, string>> = [];
  const pay = { version, verifyNotification: verified, verifyRefundNotification: verified } as unknown as PayClient;
  const internal = {
    applyPayment: (req: { order_no: string; status: string }) => {
      if (applyError) return Promise.reject(applyError);
      applied.push(`payment ${req.order_no} ${req.status}`);
      return Promise.resolve({ applied: true, order_status: 'paid' });
    },
    applyRefund: (req: { refund_no: string; status: string }) => {
      if (applyError) return Promise.reject(applyError);
      applied.push(`refund ${req.refund_no} ${req.status}`);
      return Promise.resolve({ applied: true, refund_status: 'success', order_status: 'refunded' });
    },
  } as unknown as InternalApi;
  const config = { internal: { timeoutMs: 3000 } } as AppConfig;
  const metrics = { notifications: { inc: (labels: Record<string, string>) => counted.push(labels) } } as unknown as MetricsService;
  return { handler: new PayNotificationHandler(pay, internal, config, metrics), applied, counted };
}

const logger = new Logger('PayNotificationSpec');
const payUrl: PayNotifyUrl = { logger, subject: 'notification', verify: (pay, h, b) => pay.verifyNotification(h, b) };
const refundUrl: PayNotifyUrl = {
  logger,
  subject: 'refund notification',
  kind: 'refund',
  verify: (pay, h, b) => pay.verifyRefundNotification(h, b),
};
const req: CallbackRequest = { query: {}, headers: {}, body: Buffer.from('<xml/>') };
const json = (reply: { body?: string }) => JSON.parse(reply.body ?? '') as unknown;

describe('PayNotificationHandler', () => {
  it('applies a verified payment and answers v2 SUCCESS / v3 204', async () => {
    for (const [version, status] of [
      ['v2', 200],
      ['v3', 204],
    ] as const) {
      const { handler, applied, counted } = setup(version, () => Promise.resolve(PAYMENT));
      const reply = await handler.handle(payUrl, req);
      expect(applied).toEqual(['payment ORD1 paid']);
      expect(counted).toEqual([{ kind: 'payment', result: 'success' }]);
      expect(reply.status).toBe(status);
      if (version === 'v2') expect(reply.body).toContain('<return_code><![CDATA[SUCCESS]]></return_code>');
      else expect(reply).toEqual({ status: 204 });
    }
  });

  it('applies a refund result on either URL; the refund URL always counts kind refund', async () => {
    for (const url of [payUrl, refundUrl]) {
      const { handler, applied, counted } = setup('v3', () => Promise.resolve(REFUND));
      const reply = await handler.handle(url, req);
      expect(applied).toEqual(['refund RF1 success']);
      expect(counted).toEqual([{ kind: 'refund', result: 'success' }]);
      expect(reply.status).toBe(204);
    }
    const { handler, counted } = setup('v3', () => Promise.reject(new PayNotificationError('bad_signature')));
    await handler.handle(refundUrl, req);
    expect(counted).toEqual([{ kind: 'refund', result: 'sign_error' }]);
  });

  it('a refused notification applies nothing: v2 FAIL SIGN_ERROR, v3 401', async () => {
    for (const version of ['v2', 'v3'] as const) {
      const { handler, applied, counted } = setup(version, () => Promise.reject(new PayNotificationError('bad_signature')));
      const reply = await handler.handle(payUrl, req);
      expect(applied).toEqual([]);
      expect(counted).toEqual([{ kind: 'unverified', result: 'sign_error' }]);
      if (version === 'v2') {
        expect(reply).toMatchObject({ status: 200, contentType: 'text/xml; charset=utf-8' });
        expect(reply.body).toContain('<return_msg><![CDATA[SIGN_ERROR]]></return_msg>');
      } else {
        expect(reply).toMatchObject({ status: 401, contentType: 'application/json; charset=utf-8', chosen500: false });
        expect(json(reply)).toEqual({ code: 'FAIL', message: 'SIGN_ERROR' });
      }
    }
  });

  it('a mismatch refused by the internal API is 400 ORDER_MISMATCH; unavailability and verify crashes are 500 SYSTEM_ERROR', async () => {
    const mismatch = setup('v3', () => Promise.resolve(PAYMENT), new DomainError(409, 'amount mismatch'));
    const a = await mismatch.handler.handle(payUrl, req);
    expect(a).toMatchObject({ status: 400, chosen500: false });
    expect(json(a)).toEqual({ code: 'FAIL', message: 'ORDER_MISMATCH' });

    const down = setup('v3', () => Promise.resolve(REFUND), new DomainError(500, 'boom'));
    const b = await down.handler.handle(refundUrl, req);
    // A chosen "retry later": its request line is a warning, not an error.
    expect(b).toMatchObject({ status: 500, chosen500: true });
    expect(json(b)).toEqual({ code: 'FAIL', message: 'SYSTEM_ERROR' });

    const crashed = setup('v2', () => Promise.reject(new Error('certificate store broken')));
    const c = await crashed.handler.handle(payUrl, req);
    expect(crashed.counted).toEqual([{ kind: 'unverified', result: 'system_error' }]);
    expect(c.body).toContain('<return_msg><![CDATA[SYSTEM_ERROR]]></return_msg>');
  });

  it('another verified event is answered success with nothing applied', async () => {
    const { handler, applied, counted } = setup('v3', () => Promise.resolve({ kind: 'other', eventType: 'PROFITSHARING.FINISHED' }));
    const reply = await handler.handle(payUrl, req);
    expect(applied).toEqual([]);
    expect(counted).toEqual([{ kind: 'other', result: 'success' }]);
    expect(reply.status).toBe(204);
  });
});
