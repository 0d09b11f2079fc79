import { SANDBOX_CREDENTIALS } from '../../src/config/sandbox-defaults';
import { DatabaseService } from '../../src/database/database.service';
import { OrderExpiryJob } from '../../src/payment/orders/order-expiry.job';
import { withLogsShownOnFailure } from '../setup/app-logs';
import { expectInvariants } from '../setup/invariants';
import { MYSQL } from '../setup/mysql';
import { TcpFaultProxy } from '../setup/tcp-fault-proxy';
import { AppOnFreshDb, dbKinds, eventually, startApp, startAppOnFreshDb, TestApp } from '../setup/test-app';
import { BuiltNotification, v2Notification, v3Notification } from '../support/pay-notifications';
import { call, Json, login, sendNotification } from '../support/api-client';
import { buy, payInSandbox, placeOrder, prepayIdOf } from '../support/orders';
import { uniq } from '../support/unique';

type Version = 'v2' | 'v3';

const v2Success = '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>';

function expectAccepted(version: Version, r: { status: number; text: string }) {
  if (version === 'v2') expect(r).toEqual({ status: 200, text: v2Success });
  else expect(r).toEqual({ status: 204, text: '' });
}

function expectRejected(version: Version, r: { status: number; text: string }, v3: { status: number; message: string }) {
  if (version === 'v2') {
    expect(r.status).toBe(200);
    expect(r.text).toContain('<return_code><![CDATA[FAIL]]></return_code>');
  } else {
    expect(r).toEqual({ status: v3.status, text: JSON.stringify({ code: 'FAIL', message: v3.message }) });
  }
}

describe.each(dbKinds())('payments [%s]', (kind) => {
  describe.each(['v2', 'v3'] as const)('WeChat Pay %s', (version) => {
    let app: AppOnFreshDb;
    const q = (sql: string, p: unknown[] = []) => app.app.get(DatabaseService).dataSource.query<Json[]>(sql, p);
    const notification = (
      facts: Parameters<typeof v2Notification>[1],
      extra: { v2?: Record<string, string>; v3?: Parameters<typeof v3Notification>[2] } = {},
    ) => (version === 'v2' ? v2Notification(app.config, facts, extra.v2) : v3Notification(app.config, facts, extra.v3));

    const orderStatus = async (orderNo: string) => (await q('SELECT status FROM payment_orders WHERE order_no = ?', [orderNo]))[0]?.status;
    const credits = async (openid: string) =>
      Number((await q('SELECT remaining_credits AS r FROM wechat_users WHERE openid = ?', [openid]))[0]?.r);

    beforeAll(async () => {
      app = await startAppOnFreshDb(kind, { WECHAT_SANDBOX: 'true', WECHAT_PAY_VERSION: version });
    });

    afterAll(async () => {
      await app?.close();
    });

    afterEach(async () => {
      await expectInvariants((sql) => q(sql));
    });

    it('prices list the configured packages', async () => {
      expect(await call(app, 'GET', '/api/v1/payment/prices')).toEqual({
        status: 200,
        body: {
          success: true,
          data: {
            member_price: 29.9,
            credits_price: 0.99,
            credits_amount: 10,
            credits_packages: [
              { credits: 10, price: 9.9 },
              { credits: 20, price: 18 },
              { credits: 50, price: 39 },
              { credits: 100, price: 69 },
            ],
            member_duration_days: 0,
            member_bonus_credits: 10,
            is_test_price: false,
          },
        },
      });
    });

    it('happy path, credits: create-order → sandbox pay → notify → paid, credited, recorded', async () => {
      const openid = uniq('oBuyC');
      const order = await placeOrder(app, openid, { order_type: 'credits', credits_amount: 20 });
      const { token, orderNo } = order;
      expect(orderNo).toMatch(/^ORD\d{14}[A-Z0-9]{6}$/);
      expect(order.amount).toBe(18);
      await payInSandbox(app, order);
      expect(await credits(openid)).toBe(30);
      expect(await q("SELECT delta, reason FROM credit_ledger WHERE openid = ? AND reason = 'purchase'", [openid])).toEqual([
        { delta: 20, reason: 'purchase' },
      ]);
      const [record] = await q('SELECT transaction_id, notify_data FROM payment_records WHERE order_no = ?', [orderNo]);
      expect(record.transaction_id).toBeTruthy();
      expect(String(record.notify_data)).toContain(orderNo);
      const view = await call(app, 'GET', `/api/v1/payment/orders/${orderNo}`, { token });
      expect(view.body.order).toMatchObject({
        order_no: orderNo,
        order_type: 'credits',
        amount: 18,
        credits_amount: 20,
        status: 'paid',
        paid_at: expect.stringMatching(/\+08:00$/),
      });
      const list = await call(app, 'GET', '/api/v1/payment/orders', { token });
      expect(list.body.orders.map((o: Json) => o.order_no)).toEqual([orderNo]);
    });

    it('happy path, membership: lifetime member with the bonus; buying again is refused', async () => {
      const openid = uniq('oBuyM');
      const { token } = await buy(app, openid, { order_type: 'member' });
      const me = await call(app, 'GET', '/api/v1/user/member-status', { token });
      expect(me.body).toEqual({ success: true, is_member: true, member_expire_at: null });
      expect(await credits(openid)).toBe(20);
      expect(await call(app, 'POST', '/api/v1/payment/create-order', { token, body: { order_type: 'member' } })).toEqual({
        status: 400,
        body: { detail: '您已经是会员，无需重复开通' },
      });
    });

    it('6 concurrent membership create-orders → exactly one payable order; a later one hands out that order again', async () => {
      const openid = uniq('oRaceM');
      const token = await login(app, openid);
      const create = () => call(app, 'POST', '/api/v1/payment/create-order', { token, body: { order_type: 'member' } });
      const answers = await Promise.all(Array.from({ length: 6 }, create));
      for (const a of answers) {
        if (a.status !== 200) expect(a).toEqual({ status: 409, body: { detail: '会员订单正在创建中，请稍后再试' } });
      }
      const placed = answers.filter((a) => a.status === 200);
      expect(placed.length).toBeGreaterThanOrEqual(1);
      expect(new Set(placed.map((a) => a.body.order_no)).size).toBe(1);
      expect(await q("SELECT COUNT(*) AS n FROM payment_orders WHERE openid = ? AND order_type = 'member'", [openid])).toEqual([{ n: 1 }]);
      const { order_no: orderNo, payment_params: params } = placed[0].body;
      // Tapping "buy" again after closing the pay sheet: the same order, freshly signed for the page.
      const again = await create();
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({
        success: true,
        order_no: orderNo,
        amount: 29.9,
        payment_params: { package: params.package, signType: params.signType },
      });
      expect(again.body.payment_params.paySign).toBeTruthy();
      expect(await q("SELECT status FROM payment_orders WHERE openid = ? AND order_type = 'member'", [openid])).toEqual([
        { status: 'pending' },
      ]);
      await payInSandbox(app, { orderNo, prepayId: prepayIdOf(params) });
      expect(await credits(openid)).toBe(20);
      expect(await create()).toEqual({ status: 400, body: { detail: '您已经是会员，无需重复开通' } });
    });

    it('pending orders per user are capped (MAX_PENDING_ORDERS_PER_USER=5): 8 concurrent → 5 placed, 3 × 429; a paid one frees a place', async () => {
      const openid = uniq('oCap');
      const token = await login(app, openid);
      const create = () =>
        call(app, 'POST', '/api/v1/payment/create-order', { token, body: { order_type: 'credits', credits_amount: 10 } });
      const answers = await Promise.all(Array.from({ length: 8 }, create));
      const placed = answers.filter((a) => a.status === 200);
      expect(placed).toHaveLength(5);
      for (const a of answers.filter((x) => x.status !== 200)) {
        expect(a).toEqual({ status: 429, body: { detail: '待支付订单已达上限（5 笔），请先完成支付或等待订单过期' } });
      }
      expect(await q('SELECT COUNT(*) AS n FROM payment_orders WHERE openid = ?', [openid])).toEqual([{ n: 5 }]);
      expect((await create()).status).toBe(429);
      // Membership is refused too while the place is taken (it counts like any pending order).
      expect((await call(app, 'POST', '/api/v1/payment/create-order', { token, body: { order_type: 'member' } })).status).toBe(429);
      const first = placed[0].body;
      await payInSandbox(app, { orderNo: first.order_no, prepayId: prepayIdOf(first.payment_params) });
      expect((await create()).status).toBe(200);
      expect(await q("SELECT COUNT(*) AS n FROM payment_orders WHERE openid = ? AND status = 'pending'", [openid])).toEqual([{ n: 5 }]);
    });

    it('the same valid notification 50× concurrently and again an hour later → credited once, every answer success', async () => {
      const openid = uniq('oStorm');
      const { orderNo } = await placeOrder(app, openid);
      const facts = { orderNo, totalFen: 990, openid, transactionId: uniq('4200') };
      const n = notification(facts);
      const answers = await Promise.all(Array.from({ length: 50 }, () => sendNotification(app, n)));
      for (const a of answers) expectAccepted(version, a);
      // An hour later: v3 retries carry the same resource re-signed with a fresh timestamp.
      await call(app, 'POST', '/sandbox/clock', { body: { advance_seconds: 3600 } });
      try {
        const later = version === 'v2' ? n : v3Notification(app.config, facts, { timestamp: Math.floor(Date.now() / 1000) + 3600 });
        expectAccepted(version, await sendNotification(app, later));
      } finally {
        await call(app, 'POST', '/sandbox/clock', { body: { advance_seconds: -3600 } });
      }
      expect(await credits(openid)).toBe(20);
      expect(await q('SELECT COUNT(*) AS n FROM payment_records WHERE order_no = ?', [orderNo])).toEqual([{ n: 1 }]);
      expect(await q("SELECT COUNT(*) AS n FROM credit_ledger WHERE reason = 'purchase' AND ref = ?", [orderNo])).toEqual([{ n: 1 }]);
    });

    it('forged, foreign or mismatched notifications change nothing and get the right FAIL', () =>
      withLogsShownOnFailure(async () => {
        const openid = uniq('oForge');
        const { orderNo } = await placeOrder(app, openid);
        const facts = { orderNo, totalFen: 990, openid, transactionId: uniq('4200') };
        const signError = { status: 401, message: 'SIGN_ERROR' };
        const mismatch = { status: 400, message: 'ORDER_MISMATCH' };
        const cases: Array<[string, BuiltNotification, { status: number; message: string }]> =
          version === 'v2'
            ? [
                ['forged signature', v2Notification(app.config, facts, {}, { key: 'x'.repeat(32) }), signError],
                ['wrong appid', v2Notification(app.config, facts, { appid: 'wx0000000000000bad' }), signError],
                ['wrong mch_id', v2Notification(app.config, facts, { mch_id: '1999999999' }), signError],
                ['unknown order', v2Notification(app.config, { ...facts, orderNo: 'ORD20990101000000NOSUCH' }), mismatch],
                ['amount ≠ order', v2Notification(app.config, { ...facts, totalFen: 1 }), mismatch],
                ["another user's openid", v2Notification(app.config, { ...facts, openid: 'oSomebodyElse00000000000001' }), mismatch],
                ['a v3 body', v3Notification(app.config, facts), signError],
              ]
            : [
                ['forged signature', v3Notification(app.config, facts, { signature: Buffer.alloc(256, 7).toString('base64') }), signError],
                ['wrong appid', v3Notification(app.config, facts, { tweak: { appid: 'wx0000000000000bad' } }), signError],
                ['wrong mchid', v3Notification(app.config, facts, { tweak: { mchid: '1999999999' } }), signError],
                ['unknown order', v3Notification(app.config, { ...facts, orderNo: 'ORD20990101000000NOSUCH' }), mismatch],
                ['amount ≠ order', v3Notification(app.config, { ...facts, totalFen: 1 }), mismatch],
                ["another user's openid", v3Notification(app.config, { ...facts, openid: 'oSomebodyElse00000000000001' }), mismatch],
                [
                  'timestamp 10 minutes old',
                  v3Notification(app.config, facts, { timestamp: Math.floor(Date.now() / 1000) - 600 }),
                  signError,
                ],
                [
                  'timestamp 10 minutes ahead',
                  v3Notification(app.config, facts, { timestamp: Math.floor(Date.now() / 1000) + 600 }),
                  signError,
                ],
                ['WECHATPAY/SIGNTEST/ probe', v3Notification(app.config, facts, { signature: 'WECHATPAY/SIGNTEST/abcdefg' }), signError],
                ['tampered ciphertext', v3Notification(app.config, facts, { tamper: true }), signError],
                ['a v2 body', v2Notification(app.config, facts), signError],
              ];
        for (const [name, n, expected] of cases) {
          const r = await sendNotification(app, n);
          expectRejected(version, r, expected);
          expect({ name, status: await orderStatus(orderNo) }).toEqual({ name, status: 'pending' });
        }
        expect(await credits(openid)).toBe(10);
        expect(await q('SELECT COUNT(*) AS n FROM payment_records WHERE order_no = ?', [orderNo])).toEqual([{ n: 0 }]);
        const kinds = (
          await q('SELECT kind FROM payment_anomalies WHERE order_no IN (?, ?) ORDER BY id', [orderNo, 'ORD20990101000000NOSUCH'])
        ).map((r) => r.kind);
        expect(kinds).toEqual(expect.arrayContaining(['unknown_order', 'amount_mismatch', 'payer_mismatch']));
      }));

    it('notification never arrives → the status endpoint asks WeChat Pay and completes the order once', async () => {
      const openid = uniq('oQuiet');
      const order = await placeOrder(app, openid);
      const { token, orderNo } = order;
      await payInSandbox(app, order, 'never');
      const views = await Promise.all(Array.from({ length: 5 }, () => call(app, 'GET', `/api/v1/payment/orders/${orderNo}`, { token })));
      expect(views.some((v) => v.body.order.status === 'paid')).toBe(true);
      expect(await credits(openid)).toBe(20);
      expect(await q('SELECT COUNT(*) AS n FROM payment_records WHERE order_no = ?', [orderNo])).toEqual([{ n: 1 }]);
      // Someone else's order is invisible.
      const other = await login(app, uniq('oNosy'));
      expect(await call(app, 'GET', `/api/v1/payment/orders/${orderNo}`, { token: other })).toEqual({
        status: 404,
        body: { detail: '订单不存在' },
      });
    });

    it('an expired order is closed by the job (at WeChat Pay too); a late paid notification still credits once', async () => {
      const openid = uniq('oLate');
      const { orderNo, prepayId } = await placeOrder(app, openid);
      await call(app, 'POST', '/sandbox/clock', { body: { advance_seconds: 31 * 60 } });
      try {
        expect(await app.app.get(OrderExpiryJob).runOnce()).toBeGreaterThanOrEqual(1);
      } finally {
        await call(app, 'POST', '/sandbox/clock', { body: { advance_seconds: -31 * 60 } });
      }
      expect(await orderStatus(orderNo)).toBe('closed');
      const sandboxOrder = (await call(app, 'GET', '/sandbox/orders')).body as unknown as Json[] | Json;
      expect(JSON.stringify(sandboxOrder)).toContain(orderNo);
      // The customer paid anyway (WeChat had not closed it yet on their side): paid wins, flagged.
      expectAccepted(version, await sendNotification(app, notification({ orderNo, totalFen: 990, openid, transactionId: uniq('4200') })));
      expect(await orderStatus(orderNo)).toBe('paid');
      expect(await credits(openid)).toBe(20);
      expect(await q('SELECT kind FROM payment_anomalies WHERE order_no = ?', [orderNo])).toEqual([{ kind: 'paid_after_close' }]);
      expect(prepayId).toBeTruthy();
    });

    it('WeChat Pay down at create-order → 502 with detail and a failed order, nothing pending left', async () => {
      const openid = uniq('oDown');
      const token = await login(app, openid);
      await call(app, 'POST', '/sandbox/faults', { body: { pay: 'down' } });
      try {
        const r = await call(app, 'POST', '/api/v1/payment/create-order', { token, body: { order_type: 'credits', credits_amount: 10 } });
        expect(r.status).toBe(502);
        expect(r.body.detail).toMatch(/^支付下单失败: /);
      } finally {
        await call(app, 'POST', '/sandbox/faults', { body: { pay: null } });
      }
      expect(await q('SELECT status FROM payment_orders WHERE openid = ?', [openid])).toEqual([{ status: 'failed' }]);
    });

    it('bad create-order input → 400 with the contract details', async () => {
      const token = await login(app, uniq('oBad'));
      const cases: Array<[unknown, string]> = [
        [{ order_type: 'vip' }, '无效的订单类型'],
        [{}, '无效的订单类型'],
        [{ order_type: 'credits' }, '无效的额度套餐'],
        [{ order_type: 'credits', credits_amount: 11 }, '无效的额度套餐'],
        [{ order_type: 'credits', credits_amount: -10 }, '无效的额度套餐'],
        [{ order_type: 'credits', credits_amount: 10.5 }, '无效的额度套餐'],
        [{ order_type: 'credits', credits_amount: 1e300 }, '无效的额度套餐'],
        [{ order_type: 'credits', credits_amount: '10' }, '无效的额度套餐'],
        [{ order_type: ['credits'] }, '无效的订单类型'],
      ];
      for (const [body, detail] of cases) {
        expect({ body, r: await call(app, 'POST', '/api/v1/payment/create-order', { token, body }) }).toEqual({
          body,
          r: { status: 400, body: { detail } },
        });
      }
      expect(await call(app, 'POST', '/api/v1/payment/create-order', { body: { order_type: 'member' } })).toEqual({
        status: 401,
        body: { detail: '请先关注公众号并扫码' },
      });
    });

    if (kind === 'mysql') {
      it('split roles: a 50× storm sent to the web role credits once through the app role', async () => {
        const secret = 'split-payments-secret-0123456789';
        const appRole = await startApp({
          ...app.db.env,
          APP_ROLE: 'app',
          INTERNAL_API_SECRET: secret,
          WECHAT_PAY_VERSION: version,
          DB_MIGRATE_ON_START: 'false',
          ...sandboxCredentialsOf(app),
        });
        const web = await startApp({
          APP_ROLE: 'web',
          INTERNAL_API_SECRET: secret,
          INTERNAL_API_BASE_URL: appRole.url,
          WECHAT_PAY_VERSION: version,
          ...sandboxCredentialsOf(app),
        });
        try {
          const openid = uniq('oSplit');
          const { orderNo } = await placeOrder(app, openid);
          const n = notification({ orderNo, totalFen: 990, openid, transactionId: uniq('4200') });
          const answers = await Promise.all(Array.from({ length: 50 }, () => sendNotification(web, n)));
          for (const a of answers) expectAccepted(version, a);
          expect(await credits(openid)).toBe(20);
          expect(await q('SELECT COUNT(*) AS n FROM payment_records WHERE order_no = ?', [orderNo])).toEqual([{ n: 1 }]);
        } finally {
          await web.close();
          await appRole.close();
        }
      });

      it('database down at notify → FAIL; the retry after recovery credits once', () =>
        withLogsShownOnFailure(async () => {
          const proxy = new TcpFaultProxy(MYSQL.host, MYSQL.port);
          await proxy.start();
          const viaProxy = await startApp({
            ...app.db.env,
            MYSQL_PORT: String(proxy.port),
            WECHAT_PAY_VERSION: version,
            DB_MIGRATE_ON_START: 'false',
            ...sandboxCredentialsOf(app),
          });
          try {
            const openid = uniq('oDbDown');
            const { orderNo } = await placeOrder(app, openid);
            const n = notification({ orderNo, totalFen: 990, openid, transactionId: uniq('4200') });
            proxy.cut();
            const started = Date.now();
            expectRejected(version, await sendNotification(viaProxy, n), { status: 500, message: 'SYSTEM_ERROR' });
            expect(Date.now() - started).toBeLessThan(4000);
            expect(await orderStatus(orderNo)).toBe('pending');
            proxy.restore();
            await eventually(
              async () => {
                const r = await sendNotification(viaProxy, n);
                return version === 'v2' ? r.text === v2Success : r.status === 204;
              },
              20_000,
              300,
            );
            expect(await credits(openid)).toBe(20);
            expect(await q('SELECT COUNT(*) AS n FROM payment_records WHERE order_no = ?', [orderNo])).toEqual([{ n: 1 }]);
          } finally {
            await viaProxy.close();
            await proxy.stop();
          }
        }));
    }
  });
});

/** Another instance talking to `app`'s sandbox with the same merchant credentials and key files. */
function sandboxCredentialsOf(app: TestApp): Record<string, string> {
  const c = app.config;
  return {
    WECHAT_APPID: SANDBOX_CREDENTIALS.WECHAT_APPID,
    WECHAT_SECRET: SANDBOX_CREDENTIALS.WECHAT_SECRET,
    WECHAT_TOKEN: SANDBOX_CREDENTIALS.WECHAT_TOKEN,
    WECHAT_ENCODING_AES_KEY: SANDBOX_CREDENTIALS.WECHAT_ENCODING_AES_KEY,
    WECHAT_API_BASE: c.wechat.apiBase,
    WECHAT_PAY_BASE: c.pay.base,
    WECHAT_PAY_MCHID: c.pay.mchId,
    WECHAT_PAY_API_KEY: c.pay.apiKey,
    WECHAT_PAY_API_V3_KEY: c.pay.apiV3Key,
    WECHAT_PAY_PRIVATE_KEY_PATH: c.pay.privateKeyPath,
    WECHAT_PAY_CERT_SERIAL: c.pay.certSerial,
    WECHAT_PAY_PUBLIC_KEY_PATH: c.pay.publicKeyPath,
    WECHAT_PAY_PUBLIC_KEY_ID: c.pay.publicKeyId,
    WECHAT_PAY_NOTIFY_URL: c.pay.notifyUrl,
  };
}
