import Tenpay from 'tenpay';
import { Formatter, Hash, Rsa } from 'wechatpay-axios-plugin';
import { DatabaseService } from '../../src/database/database.service';
import { withLogsShownOnFailure } from '../setup/app-logs';
import { expectInvariants } from '../setup/invariants';
import { dbKinds, startAppOnFreshDb, TestApp } from '../setup/test-app';
import { Json, sendNotification } from '../support/api-client';
import { placeOrder } from '../support/orders';
import type { BuiltNotification, PaidFacts } from '../support/pay-notifications';
import {
  SandboxKeyFiles,
  sandboxKeyFiles,
  sdkV2Notification,
  sdkV3Notification,
  v2NotificationFields,
  v3Transaction,
} from './support/sdk-peers';
import { uniq } from '../support/unique';

/**
 * WeChat Pay notifications signed by published SDKs (issue 16), for orders made through the
 * service's own API, on SQLite and MySQL: v2 in tenpay's and wechatpay-axios-plugin's XML layouts
 * (MD5 and HMAC-SHA256), v3 encrypted and signed with wechatpay-axios-plugin. Each is credited once;
 * tampered copies and a transaction already recorded for another order are refused with a definite
 * FAIL and change nothing. The JSAPI pay parameters are checked with the SDKs' rules.
 */

type Version = 'v2' | 'v3';
const V2_SUCCESS = '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>';

function expectAccepted(version: Version, r: { status: number; text: string }) {
  if (version === 'v2') expect(r).toEqual({ status: 200, text: V2_SUCCESS });
  else expect(r).toEqual({ status: 204, text: '' });
}

function expectFail(version: Version, r: { status: number; text: string }, v3: { status: number; message: string }) {
  if (version === 'v2') expect(r).toEqual({ status: 200, text: expect.stringContaining('<return_code><![CDATA[FAIL]]></return_code>') });
  else expect(r).toEqual({ status: v3.status, text: JSON.stringify({ code: 'FAIL', message: v3.message }) });
}

describe.each(dbKinds())('notifications and pay parameters checked by published SDKs [%s]', (kind) => {
  describe.each(['v2', 'v3'] as const)('WeChat Pay %s', (version) => {
    let app: TestApp;
    let keys: SandboxKeyFiles;
    const q = (sql: string, p: unknown[] = []) => app.app.get(DatabaseService).dataSource.query<Json[]>(sql, p);
    const status = async (orderNo: string) => (await q('SELECT status FROM payment_orders WHERE order_no = ?', [orderNo]))[0]?.status;
    const credits = async (openid: string) =>
      Number((await q('SELECT remaining_credits AS r FROM wechat_users WHERE openid = ?', [openid]))[0]?.r);
    const purchases = async (orderNo: string) =>
      Number((await q("SELECT COUNT(*) AS n FROM credit_ledger WHERE ref = ? AND reason = 'purchase'", [orderNo]))[0].n);

    const signed = (
      facts: PaidFacts,
      variant: { layout?: 'tenpay' | 'axios-plugin'; signType?: 'MD5' | 'HMAC-SHA256' } = {},
    ): BuiltNotification =>
      version === 'v2'
        ? sdkV2Notification(app.config, v2NotificationFields(app.config, facts), variant.layout ?? 'tenpay', variant.signType ?? 'MD5')
        : sdkV3Notification(app.config, keys, v3Transaction(app.config, facts));

    beforeAll(async () => {
      app = await startAppOnFreshDb(kind, { WECHAT_SANDBOX: 'true', WECHAT_PAY_VERSION: version });
      keys = sandboxKeyFiles(app.config);
    });

    afterAll(async () => {
      await app?.close();
    });

    afterEach(async () => {
      await expectInvariants((sql) => q(sql));
    });

    if (version === 'v2') {
      it.each([
        ['tenpay', 'MD5'],
        ['tenpay', 'HMAC-SHA256'],
        ['axios-plugin', 'MD5'],
        ['axios-plugin', 'HMAC-SHA256'],
      ] as const)('%s layout, %s: a tampered copy is refused, the genuine one credited once', async (layout, signType) => {
        const openid = uniq('oV2N');
        const { orderNo, totalFen } = await placeOrder(app, openid);
        const fields = v2NotificationFields(app.config, { orderNo, totalFen, openid, transactionId: uniq('4200') });
        const tampered = sdkV2Notification(app.config, fields, layout, signType, { total_fee: '1', cash_fee: '1' });
        expectFail(version, await sendNotification(app, tampered), { status: 401, message: 'SIGN_ERROR' });
        expect(await status(orderNo)).toBe('pending');
        const genuine = sdkV2Notification(app.config, fields, layout, signType);
        if (layout === 'tenpay') expect(genuine.body.startsWith('<?xml version="1.0"?>\n<xml>\n')).toBe(true);
        expectAccepted(version, await sendNotification(app, genuine));
        expectAccepted(version, await sendNotification(app, genuine));
        expect(await status(orderNo)).toBe('paid');
        expect([await credits(openid), await purchases(orderNo)]).toEqual([20, 1]);
      });

      it('the JSAPI paySign is the one tenpay and wechatpay-axios-plugin compute (MD5 over appId, timeStamp, nonceStr, package, signType)', async () => {
        const { params } = await placeOrder(app, uniq('oV2P'));
        const { paySign, ...unsigned } = params;
        expect(Object.keys(unsigned).sort()).toEqual(['appId', 'nonceStr', 'package', 'signType', 'timeStamp']);
        const tenpay = new Tenpay({ appid: app.config.wechat.appId, mchid: app.config.pay.mchId, partnerKey: app.config.pay.apiKey });
        expect(tenpay._getSign(unsigned, unsigned.signType as 'MD5')).toBe(paySign);
        expect(Hash.sign(unsigned.signType as 'MD5' | 'HMAC-SHA256', unsigned, app.config.pay.apiKey)).toBe(paySign);
      });
    } else {
      it('AesGcm + Rsa (axios-plugin): a flipped ciphertext and a signature over other bytes are refused, the genuine one credited once', async () => {
        const openid = uniq('oV3N');
        const { orderNo, totalFen } = await placeOrder(app, openid);
        const resource = v3Transaction(app.config, { orderNo, totalFen, openid, transactionId: uniq('4200') });
        const flipped = sdkV3Notification(app.config, keys, resource, { flipCiphertext: true });
        const resigned = sdkV3Notification(app.config, keys, resource, {
          signBody: (b) => b.replace('TRANSACTION.SUCCESS', 'TRANSACTION.SUCCESs'),
        });
        for (const forged of [flipped, resigned])
          expectFail(version, await sendNotification(app, forged), { status: 401, message: 'SIGN_ERROR' });
        expect(await status(orderNo)).toBe('pending');
        const genuine = sdkV3Notification(app.config, keys, resource);
        expectAccepted(version, await sendNotification(app, genuine));
        expectAccepted(version, await sendNotification(app, sdkV3Notification(app.config, keys, resource)));
        expect(await status(orderNo)).toBe('paid');
        expect([await credits(openid), await purchases(orderNo)]).toEqual([20, 1]);
      });

      it('the JSAPI paySign verifies with wechatpay-axios-plugin (RSA over appId, timeStamp, nonceStr, package)', async () => {
        const { params } = await placeOrder(app, uniq('oV3P'));
        expect(params).toMatchObject({
          appId: app.config.wechat.appId,
          signType: 'RSA',
          package: expect.stringMatching(/^prepay_id=\S+$/),
          timeStamp: expect.stringMatching(/^\d{10}$/),
        });
        const message = Formatter.joinedByLineFeed(params.appId, params.timeStamp, params.nonceStr, params.package);
        expect(Rsa.verify(message, params.paySign, keys.merchantCertificate)).toBe(true);
        expect(Rsa.verify(message.replace('prepay_id=', 'prepay_id=x'), params.paySign, keys.merchantCertificate)).toBe(false);
      });
    }

    it('a signed notification naming a transaction already recorded for another order: anomaly, a definite FAIL, nothing credited', () =>
      withLogsShownOnFailure(async () => {
        const openid = uniq('oReuse');
        const first = await placeOrder(app, openid);
        const second = await placeOrder(app, openid);
        const transactionId = uniq('4200');
        expectAccepted(version, await sendNotification(app, signed({ ...first, transactionId })));
        expect(await credits(openid)).toBe(20);
        const reused = signed({ ...second, transactionId }, { layout: 'axios-plugin' });
        for (let i = 0; i < 2; i++) expectFail(version, await sendNotification(app, reused), { status: 400, message: 'ORDER_MISMATCH' });
        expect([await status(first.orderNo), await status(second.orderNo)]).toEqual(['paid', 'pending']);
        expect([await credits(openid), await purchases(second.orderNo)]).toEqual([20, 0]);
        const anomalies = await q('SELECT kind, detail FROM payment_anomalies WHERE order_no = ?', [second.orderNo]);
        expect(anomalies).toEqual([
          { kind: 'transaction_reused', detail: `transaction ${transactionId} already paid order ${first.orderNo}` },
          { kind: 'transaction_reused', detail: `transaction ${transactionId} already paid order ${first.orderNo}` },
        ]);
      }));
  });
});
