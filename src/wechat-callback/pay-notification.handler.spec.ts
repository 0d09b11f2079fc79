import { Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { DomainError } from '../common/errors';
import type { AppConfig } from '../config/app-config';
import type { InternalApi } from '../internal/internal-api';
import type { MetricsService } from '../metrics/metrics.service';
import type { PayClient, PayNotification } from '../wechat/pay/pay.client';
import { PayNotificationError } from '../wechat/pay/pay-errors';
import { PayNotificationHandler, PayNotifyUrl } from './pay-notification.handler';

/** What answerPay wrote: status, content type, body. */
interface Written {
  status?: number;
  type?: string;
  body?: unknown;
}

function fakeResponse(): { res: Response; written: Written } {
  const written: Written = {};
  const res = {
    status(code: number) {
      written.status = code;
      return res;
    },
    type(type: string) {
      written.type = type;
      return res;
    },
    send(body: unknown) {
      written.body = body;
      return res;
    },
    json(body: unknown) {
      written.type = 'json';
      written.body = body;
      return res;
    },
    end() {
      return res;
    },
  };
  return { res: res as unknown as Response, written };
}

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
const req = { headers: {}, body: Buffer.from('<xml/>') } as unknown as Request;

beforeAll(() => Logger.overrideLogger(false));
afterAll(() => Logger.overrideLogger(['log', 'error', 'warn', 'debug', 'verbose']));

describe('PayNotificationHandler', () => {
  it('applies a verified payment and answers v2 SUCCESS / v3 204', async () => {
    for (const [version, status] of [
      ['v2', 200],
      ['v3', 204],
    ] as const) {
      const { handler, applied, counted } = setup(version, () => Promise.resolve(PAYMENT));
      const { res, written } = fakeResponse();
      await handler.handle(payUrl, req, res);
      expect(applied).toEqual(['payment ORD1 paid']);
      expect(counted).toEqual([{ kind: 'payment', result: 'success' }]);
      expect(written.status).toBe(status);
      if (version === 'v2') expect(written.body).toContain('<return_code><![CDATA[SUCCESS]]></return_code>');
    }
  });

  it('applies a refund result on either URL; the refund URL always counts kind refund', async () => {
    for (const url of [payUrl, refundUrl]) {
      const { handler, applied, counted } = setup('v3', () => Promise.resolve(REFUND));
      const { res, written } = fakeResponse();
      await handler.handle(url, req, res);
      expect(applied).toEqual(['refund RF1 success']);
      expect(counted).toEqual([{ kind: 'refund', result: 'success' }]);
      expect(written.status).toBe(204);
    }
    const { handler, counted } = setup('v3', () => Promise.reject(new PayNotificationError('bad_signature')));
    await handler.handle(refundUrl, req, fakeResponse().res);
    expect(counted).toEqual([{ kind: 'refund', result: 'sign_error' }]);
  });

  it('a refused notification applies nothing: v2 FAIL SIGN_ERROR, v3 401', async () => {
    for (const version of ['v2', 'v3'] as const) {
      const { handler, applied, counted } = setup(version, () => Promise.reject(new PayNotificationError('bad_signature')));
      const { res, written } = fakeResponse();
      await handler.handle(payUrl, req, res);
      expect(applied).toEqual([]);
      expect(counted).toEqual([{ kind: 'unverified', result: 'sign_error' }]);
      if (version === 'v2') {
        expect(written).toMatchObject({ status: 200, type: 'text/xml' });
        expect(written.body).toContain('<return_msg><![CDATA[SIGN_ERROR]]></return_msg>');
      } else {
        expect(written).toEqual({ status: 401, type: 'json', body: { code: 'FAIL', message: 'SIGN_ERROR' } });
      }
    }
  });

  it('a mismatch refused by the internal API is 400 ORDER_MISMATCH; unavailability and verify crashes are 500 SYSTEM_ERROR', async () => {
    const mismatch = setup('v3', () => Promise.resolve(PAYMENT), new DomainError(409, 'amount mismatch'));
    const a = fakeResponse();
    await mismatch.handler.handle(payUrl, req, a.res);
    expect(a.written).toEqual({ status: 400, type: 'json', body: { code: 'FAIL', message: 'ORDER_MISMATCH' } });

    const down = setup('v3', () => Promise.resolve(REFUND), new DomainError(500, 'boom'));
    const b = fakeResponse();
    await down.handler.handle(refundUrl, req, b.res);
    expect(b.written).toEqual({ status: 500, type: 'json', body: { code: 'FAIL', message: 'SYSTEM_ERROR' } });

    const crashed = setup('v2', () => Promise.reject(new Error('certificate store broken')));
    const c = fakeResponse();
    await crashed.handler.handle(payUrl, req, c.res);
    expect(crashed.counted).toEqual([{ kind: 'unverified', result: 'system_error' }]);
    expect(c.written.body).toContain('<return_msg><![CDATA[SYSTEM_ERROR]]></return_msg>');
  });

  it('another verified event is answered success with nothing applied', async () => {
    const { handler, applied, counted } = setup('v3', () => Promise.resolve({ kind: 'other', eventType: 'PROFITSHARING.FINISHED' }));
    const { res, written } = fakeResponse();
    await handler.handle(payUrl, req, res);
    expect(applied).toEqual([]);
    expect(counted).toEqual([{ kind: 'other', result: 'success' }]);
    expect(written.status).toBe(204);
  });
});
