import { DatabaseService } from '../../src/database/database.service';
import { InternalApi } from '../../src/internal/internal-api';
import { NotifyRetentionJob } from '../../src/payment/notify-retention.job';
import { RefundSyncJob } from '../../src/payment/refunds/refund-sync.job';
import { withLogsShownOnFailure } from '../setup/app-logs';
import { expectInvariants } from '../setup/invariants';
import { AppOnFreshDb, dbKinds, eventually, startApp, startAppOnFreshDb } from '../setup/test-app';
import {
  BuiltNotification,
  v2Notification,
  v2RefundNotification,
  v3Notification,
  v3RefundNotification,
} from '../support/pay-notifications';
import { call, Json, login, sendNotification } from '../support/api-client';
import { buy } from '../support/orders';
import { uniq } from '../support/unique';

type Version = 'v2' | 'v3';

const ADMIN_KEY = 'refunds-admin-key-0123456789';

const V2_SUCCESS = '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>';

describe.each(dbKinds())('refunds [%s]', (kind) => {
  describe.each(['v2', 'v3'] as const)('WeChat Pay %s', (version: Version) => {
    let app: AppOnFreshDb;
    const q = (sql: string, p: unknown[] = []) => app.app.get(DatabaseService).dataSource.query<Json[]>(sql, p);
    const admin = (orderNo: string, body: unknown, adminKey: string | null = ADMIN_KEY) =>
      call(app, 'POST', `/api/v1/admin/orders/${orderNo}/refund`, { body, adminKey });
    const credits = async (openid: string) =>
      Number((await q('SELECT remaining_credits AS r FROM wechat_users WHERE openid = ?', [openid]))[0]?.r);
    const orderStatus = async (orderNo: string) => (await q('SELECT status FROM payment_orders WHERE order_no = ?', [orderNo]))[0]?.status;
    const refundRow = async (refundNo: string) => (await q('SELECT * FROM payment_refunds WHERE refund_no = ?', [refundNo]))[0];
    const ledger = (refundNo: string) => q("SELECT delta FROM credit_ledger WHERE reason = 'payment_refund' AND ref = ?", [refundNo]);
    const anomalies = async (orderNo: string) =>
      (await q('SELECT kind FROM payment_anomalies WHERE order_no = ? ORDER BY id', [orderNo])).map((r) => r.kind);
    /** Where WeChat sends this version's refund results (v3: with the payments; v2: its own URL). */
    const refundUrl = version === 'v3' ? '/api/v1/payment/notify' : '/api/v1/payment/refund-notify';
    const refundNotification = (f: Parameters<typeof v2RefundNotification>[1]) =>
      version === 'v2' ? v2RefundNotification(app.config, f) : v3RefundNotification(app.config, f);
    const expectAccepted = (r: { status: number; text: string }) =>
      version === 'v2' ? expect(r).toEqual({ status: 200, text: V2_SUCCESS }) : expect(r).toEqual({ status: 204, text: '' });
    const expectRefused = (r: { status: number; text: string }, v3: { status: number; message: string }) => {
      if (version === 'v2') {
        expect(r.status).toBe(200);
        expect(r.text).toContain('<return_code><![CDATA[FAIL]]></return_code>');
      } else {
        expect(r).toEqual({ status: v3.status, text: JSON.stringify({ code: 'FAIL', message: v3.message }) });
      }
    };
    const manualRefunds = (on: boolean) => call(app, 'POST', '/sandbox/faults', { body: { refund: on ? 'manual' : 'auto' } });

    beforeAll(async () => {
      app = await startAppOnFreshDb(kind, { WECHAT_SANDBOX: 'true', WECHAT_PAY_VERSION: version, ADMIN_API_KEY: ADMIN_KEY });
    });

    afterAll(async () => {
      await app?.close();
    });

    afterEach(async () => {
      await manualRefunds(false);
      await expectInvariants((sql) => q(sql));
    });

    it('round trip: the order stays paid until WeChat confirms, then refunded; credits taken back once under 20 concurrent notifications', async () => {
      await manualRefunds(true);
      const openid = uniq('oRefund');
      const { orderNo, totalFen } = await buy(app, openid, { order_type: 'credits', credits_amount: 20 });
      expect(await credits(openid)).toBe(30);

      const asked = await admin(orderNo, { note: '用户申请退款', request_id: uniq('req') });
      expect(asked.status).toBe(200);
      expect(asked.body).toMatchObject({
        success: true,
        created: true,
        refund: {
          order_no: orderNo,
          amount_fen: totalFen,
          amount: totalFen / 100,
          status: 'processing',
          wx_refund_id: expect.stringMatching(/^50/),
        },
        order: { order_no: orderNo, status: 'paid' },
      });
      const refundNo: string = asked.body.refund.refund_no;
      expect(await orderStatus(orderNo)).toBe('paid');
      expect(await credits(openid)).toBe(30);
      const sandboxRefunds = (await call(app, 'GET', '/sandbox/refunds')).body.refunds as Json[];
      expect(sandboxRefunds.find((r) => r.out_refund_no === refundNo)).toMatchObject({
        out_trade_no: orderNo,
        refund_fen: totalFen,
        state: 'PROCESSING',
        version,
      });

      // WeChat confirms and delivers its notification 20 times at once.
      const done = await call(app, 'POST', '/sandbox/actions/refund', {
        body: { out_refund_no: refundNo, result: 'success', notify: 'duplicate', copies: 20 },
      });
      expect(done.status).toBe(200);
      expect(done.body.notify.deliveries).toHaveLength(20);
      for (const d of done.body.notify.deliveries) expect(d.state).toBe('delivered');
      expect(await orderStatus(orderNo)).toBe('refunded');
      expect(await credits(openid)).toBe(10);
      expect(await ledger(refundNo)).toEqual([{ delta: -20 }]);
      expect(await refundRow(refundNo)).toMatchObject({ status: 'success', credits_due: 20, credits_taken: 20, amount_fen: totalFen });

      // Later retries (and a late payment notification) change nothing: a refunded order never becomes paid again.
      expect(
        (await call(app, 'POST', '/sandbox/actions/refund', { body: { out_refund_no: refundNo, notify: 'now' } })).body.notify.deliveries[0]
          .state,
      ).toBe('delivered');
      const paidAgain =
        version === 'v2'
          ? v2Notification(app.config, { orderNo, totalFen, openid, transactionId: uniq('4200') })
          : v3Notification(app.config, { orderNo, totalFen, openid, transactionId: uniq('4200') });
      expectAccepted(await sendNotification(app, paidAgain));
      expect(await orderStatus(orderNo)).toBe('refunded');
      expect(await credits(openid)).toBe(10);
      expect(await ledger(refundNo)).toEqual([{ delta: -20 }]);
      // The order and its refund as support sees them.
      expect(Number((await q('SELECT total_paid_amount AS t FROM wechat_users WHERE openid = ?', [openid]))[0].t)).toBeCloseTo(0, 5);
    });

    it('a refunded membership ends the membership (the sandbox refunds and notifies on its own)', async () => {
      const openid = uniq('oMemRf');
      const { orderNo } = await buy(app, openid, { order_type: 'member' });
      const token = await login(app, openid);
      expect((await call(app, 'GET', '/api/v1/user/member-status', { token })).body).toMatchObject({ is_member: true });
      expect(await credits(openid)).toBe(20);
      const asked = await admin(orderNo, { note: 'membership refund', request_id: uniq('req') });
      expect(asked.body.refund.status).toMatch(/processing|success/);
      await eventually(async () => (await orderStatus(orderNo)) === 'refunded');
      expect((await call(app, 'GET', '/api/v1/user/member-status', { token })).body).toEqual({
        success: true,
        is_member: false,
        member_expire_at: null,
      });
      expect(await q('SELECT is_member, member_lifetime FROM wechat_users WHERE openid = ?', [openid])).toEqual([
        { is_member: 0, member_lifetime: 0 },
      ]);
      expect(await credits(openid)).toBe(10);
      // Buying membership again is possible now.
      expect((await call(app, 'POST', '/api/v1/payment/create-order', { token, body: { order_type: 'member' } })).status).toBe(200);
    });

    it('partial refunds take back credits in proportion (rounded up); the one that completes the order takes the rest', async () => {
      const openid = uniq('oPart');
      const { orderNo } = await buy(app, openid, { order_type: 'credits', credits_amount: 20 }); // 18.00 yuan
      const first = await admin(orderNo, { amount_fen: 500, note: 'part 1', request_id: uniq('req') });
      expect(first.body.refund).toMatchObject({ amount_fen: 500 });
      await eventually(async () => (await refundRow(first.body.refund.refund_no))?.status === 'success');
      // ceil(20 × 500 / 1800) = 6; the order is still paid.
      expect(await credits(openid)).toBe(24);
      expect(await orderStatus(orderNo)).toBe('paid');
      // Default amount = what is left (1300 fen).
      const second = await admin(orderNo, { note: 'the rest', request_id: uniq('req') });
      expect(second.body.refund).toMatchObject({ amount_fen: 1300 });
      await eventually(async () => (await orderStatus(orderNo)) === 'refunded');
      expect(await credits(openid)).toBe(10);
      expect((await q("SELECT SUM(delta) AS s FROM credit_ledger WHERE reason = 'payment_refund' AND openid = ?", [openid]))[0].s).toEqual(
        expect.anything(),
      );
      expect(
        Number((await q("SELECT SUM(delta) AS s FROM credit_ledger WHERE reason = 'payment_refund' AND openid = ?", [openid]))[0].s),
      ).toBe(-20);
      expect(await admin(orderNo, { note: 'again', request_id: uniq('req') })).toEqual({ status: 409, body: { detail: '订单已全额退款' } });
    });

    it('a refund larger than the balance takes what is there and records the shortfall as an anomaly', async () => {
      const openid = uniq('oShort');
      const { orderNo } = await buy(app, openid, { order_type: 'credits', credits_amount: 20 });
      await app.app.get(InternalApi).consumeCredits({ openid, task_id: uniq('t'), task_type: 'image_edit', amount: 25 });
      expect(await credits(openid)).toBe(5);
      const asked = await admin(orderNo, { note: 'spent most of it', request_id: uniq('req') });
      await eventually(async () => (await orderStatus(orderNo)) === 'refunded');
      expect(await credits(openid)).toBe(0);
      expect(await ledger(asked.body.refund.refund_no)).toEqual([{ delta: -5 }]);
      expect(await refundRow(asked.body.refund.refund_no)).toMatchObject({ credits_due: 20, credits_taken: 5 });
      expect(await anomalies(orderNo)).toEqual(['refund_shortfall']);
      expect(
        (await q("SELECT detail FROM payment_anomalies WHERE order_no = ? AND kind = 'refund_shortfall'", [orderNo]))[0].detail,
      ).toMatch(/20 credits due.*allowed 5/);
    });

    it('a forged, undecryptable, foreign or mismatched refund notification changes nothing', () =>
      withLogsShownOnFailure(async () => {
        await manualRefunds(true);
        const openid = uniq('oForgeR');
        const { orderNo, totalFen } = await buy(app, openid, { order_type: 'credits', credits_amount: 10 });
        const asked = await admin(orderNo, { note: 'forgery target', request_id: uniq('req') });
        const refundNo: string = asked.body.refund.refund_no;
        const facts = { orderNo, refundNo, refundFen: totalFen, totalFen };
        const signError = { status: 401, message: 'SIGN_ERROR' };
        const mismatch = { status: 400, message: 'ORDER_MISMATCH' };
        const cases: Array<[string, string, BuiltNotification, { status: number; message: string }]> =
          version === 'v2'
            ? [
                ['req_info under another key', refundUrl, v2RefundNotification(app.config, facts, { key: 'x'.repeat(32) }), signError],
                [
                  'req_info garbage',
                  refundUrl,
                  v2RefundNotification(app.config, facts, { reqInfo: Buffer.alloc(48, 7).toString('base64') }),
                  signError,
                ],
                ['req_info not base64', refundUrl, v2RefundNotification(app.config, facts, { reqInfo: 'not base64!' }), signError],
                ['another mch_id', refundUrl, v2RefundNotification(app.config, facts, { outer: { mch_id: '1999999999' } }), signError],
                ['a v3 body', refundUrl, v3RefundNotification(app.config, facts), signError],
                [
                  'a payment notification',
                  refundUrl,
                  v2Notification(app.config, { orderNo, totalFen, openid, transactionId: uniq('4200') }),
                  signError,
                ],
                ['another amount', refundUrl, v2RefundNotification(app.config, { ...facts, refundFen: 1 }), mismatch],
                ['another order', refundUrl, v2RefundNotification(app.config, { ...facts, orderNo: 'ORD20990101000000OTHER1' }), mismatch],
                [
                  'a refund we never asked for',
                  refundUrl,
                  v2RefundNotification(app.config, { ...facts, refundNo: 'RF20990101000000NOSUCH1' }),
                  mismatch,
                ],
                [
                  'forged on the pay URL',
                  '/api/v1/payment/notify',
                  v2RefundNotification(app.config, facts, { key: 'x'.repeat(32) }),
                  signError,
                ],
              ]
            : [
                [
                  'forged signature',
                  refundUrl,
                  v3RefundNotification(app.config, facts, { signature: Buffer.alloc(256, 7).toString('base64') }),
                  signError,
                ],
                ['tampered ciphertext', refundUrl, v3RefundNotification(app.config, facts, { tamper: true }), signError],
                [
                  'encrypted under another APIv3 key',
                  refundUrl,
                  v3RefundNotification(app.config, facts, { apiV3Key: 'k'.repeat(32) }),
                  signError,
                ],
                ['another mchid', refundUrl, v3RefundNotification(app.config, facts, { tweak: { mchid: '1999999999' } }), signError],
                [
                  'timestamp 10 minutes old',
                  refundUrl,
                  v3RefundNotification(app.config, facts, { timestamp: Math.floor(Date.now() / 1000) - 600 }),
                  signError,
                ],
                ['a v2 body', refundUrl, v2RefundNotification(app.config, facts), signError],
                ['another amount', refundUrl, v3RefundNotification(app.config, { ...facts, refundFen: 1 }), mismatch],
                [
                  'a refund we never asked for',
                  refundUrl,
                  v3RefundNotification(app.config, { ...facts, refundNo: 'RF20990101000000NOSUCH1' }),
                  mismatch,
                ],
                [
                  'forged on the refund URL',
                  '/api/v1/payment/refund-notify',
                  v3RefundNotification(app.config, facts, { tamper: true }),
                  signError,
                ],
              ];
        for (const [name, path, n, expected] of cases) {
          const r = await sendNotification(app, n, path);
          expectRefused(r, expected);
          expect({
            name,
            order: await orderStatus(orderNo),
            refund: (await refundRow(refundNo)).status,
            credits: await credits(openid),
          }).toEqual({
            name,
            order: 'paid',
            refund: 'processing',
            credits: 20,
          });
        }
        expect(await ledger(refundNo)).toEqual([]);
        expect(await anomalies(orderNo)).toEqual(expect.arrayContaining(['refund_mismatch']));
        expect((await q("SELECT COUNT(*) AS n FROM payment_anomalies WHERE kind = 'unknown_refund'"))[0].n).not.toBe(0);

        // The genuine one still works afterwards.
        expectAccepted(await sendNotification(app, refundNotification(facts), refundUrl));
        expect(await orderStatus(orderNo)).toBe('refunded');
        expect(await credits(openid)).toBe(10);
      }));

    it('a closed refund gives nothing back and is flagged; a new request_id can refund again', async () => {
      await manualRefunds(true);
      const openid = uniq('oClosed');
      const { orderNo } = await buy(app, openid, { order_type: 'credits', credits_amount: 10 });
      const asked = await admin(orderNo, { note: 'will be closed', request_id: uniq('req') });
      await call(app, 'POST', '/sandbox/actions/refund', {
        body: { out_refund_no: asked.body.refund.refund_no, result: 'closed', notify: 'now' },
      });
      expect(await refundRow(asked.body.refund.refund_no)).toMatchObject({ status: 'closed' });
      expect(await orderStatus(orderNo)).toBe('paid');
      expect(await credits(openid)).toBe(20);
      expect(await anomalies(orderNo)).toEqual(['refund_closed']);
      await manualRefunds(false);
      await admin(orderNo, { note: 'second try', request_id: uniq('req') });
      await eventually(async () => (await orderStatus(orderNo)) === 'refunded');
      expect(await credits(openid)).toBe(10);
    });

    it('the same request_id twice (even concurrently) refunds once; a lost notification is found by the sync job', async () => {
      await manualRefunds(true);
      const openid = uniq('oIdem');
      const { orderNo, totalFen } = await buy(app, openid, { order_type: 'credits', credits_amount: 10 });
      const requestId = uniq('req');
      const answers = await Promise.all(Array.from({ length: 5 }, () => admin(orderNo, { note: 'twice', request_id: requestId })));
      for (const a of answers) expect(a.status).toBe(200);
      expect(new Set(answers.map((a) => a.body.refund.refund_no)).size).toBe(1);
      expect(answers.filter((a) => a.body.created)).toHaveLength(1);
      const again = await admin(orderNo, { note: 'twice', request_id: requestId });
      expect(again.body).toMatchObject({ created: false, refund: { refund_no: answers[0].body.refund.refund_no, amount_fen: totalFen } });
      expect(await q('SELECT COUNT(*) AS n FROM payment_refunds WHERE order_no = ?', [orderNo])).toEqual([{ n: 1 }]);
      const atWechat = ((await call(app, 'GET', '/sandbox/refunds')).body.refunds as Json[]).filter((r) => r.out_trade_no === orderNo);
      expect(atWechat).toHaveLength(1);

      // WeChat finished it but the notification never came: the sync job asks and applies it once.
      const refundNo = answers[0].body.refund.refund_no;
      await call(app, 'POST', '/sandbox/actions/refund', { body: { out_refund_no: refundNo, result: 'success', notify: 'never' } });
      expect(await orderStatus(orderNo)).toBe('paid');
      await Promise.all([app.app.get(RefundSyncJob).runOnce(0), app.app.get(RefundSyncJob).runOnce(0)]);
      expect(await orderStatus(orderNo)).toBe('refunded');
      expect(await ledger(refundNo)).toEqual([{ delta: -10 }]);

      // The same request_id for another order is refused; so are unpaid, unknown and oversized refunds.
      const other = await buy(app, openid, { order_type: 'credits', credits_amount: 10 });
      expect(await admin(other.orderNo, { note: 'x', request_id: requestId })).toEqual({
        status: 409,
        body: { detail: 'request_id已用于另一订单的退款' },
      });
      expect(await admin(other.orderNo, { amount_fen: other.totalFen + 1, note: 'x', request_id: uniq('req') })).toEqual({
        status: 409,
        body: { detail: '退款金额超过可退金额（最多 9.90 元）' },
      });
      expect(await admin('ORD20990101000000NOSUCH', { note: 'x', request_id: uniq('req') })).toEqual({
        status: 404,
        body: { detail: '订单不存在' },
      });
      const token = await login(app, openid);
      const pending = await call(app, 'POST', '/api/v1/payment/create-order', {
        token,
        body: { order_type: 'credits', credits_amount: 10 },
      });
      expect(await admin(pending.body.order_no, { note: 'x', request_id: uniq('req') })).toEqual({
        status: 409,
        body: { detail: '订单未支付，不能退款' },
      });
      expect(await admin(other.orderNo, { request_id: uniq('req') })).toEqual({ status: 400, body: { detail: 'note: 1-255 characters' } });
      expect(await admin(other.orderNo, { note: 'x', request_id: 'has space' })).toEqual({
        status: 400,
        body: { detail: 'request_id: 1-128 characters of [A-Za-z0-9_.:-]' },
      });
      expect(await admin(other.orderNo, { note: 'x', request_id: uniq('req'), amount_fen: 0 })).toEqual({
        status: 400,
        body: { detail: 'amount_fen: must be at least 1' },
      });
      expect(await orderStatus(other.orderNo)).toBe('paid');
    });

    it('raw notification data is cleared after NOTIFY_DATA_RETENTION_DAYS; amounts, ids and times stay', async () => {
      const openid = uniq('oRetain');
      const { orderNo } = await buy(app, openid, { order_type: 'credits', credits_amount: 10 });
      const asked = await admin(orderNo, { note: 'retention', request_id: uniq('req') });
      await eventually(async () => (await orderStatus(orderNo)) === 'refunded');
      const refundNo: string = asked.body.refund.refund_no;
      const job = app.app.get(NotifyRetentionJob);
      await job.runOnce();
      expect((await q('SELECT notify_data FROM payment_records WHERE order_no = ?', [orderNo]))[0].notify_data).toBeTruthy();
      expect((await refundRow(refundNo)).raw).toBeTruthy();
      const old = new Date(Date.now() - (app.config.ops.notifyDataRetentionDays + 1) * 86400_000);
      const at = kind === 'mysql' ? old : old.toISOString().replace('T', ' ').replace('Z', '');
      await q('UPDATE payment_records SET created_at = ? WHERE order_no = ?', [at, orderNo]);
      await q('UPDATE payment_refunds SET completed_at = ?, created_at = ? WHERE refund_no = ?', [at, at, refundNo]);
      expect(await job.runOnce()).toBeGreaterThanOrEqual(2);
      const [record] = await q('SELECT notify_data, transaction_id, amount FROM payment_records WHERE order_no = ?', [orderNo]);
      expect(record.notify_data).toBeNull();
      expect(record.transaction_id).toBeTruthy();
      expect(await refundRow(refundNo)).toMatchObject({ raw: null, status: 'success', amount_fen: 990 });
    });

    it('admin endpoints refuse a missing or wrong key (401) and change nothing', async () => {
      const openid = uniq('oKey');
      const { orderNo } = await buy(app, openid, { order_type: 'credits', credits_amount: 10 });
      for (const key of [null, 'wrong-key', ADMIN_KEY.toUpperCase(), ADMIN_KEY.slice(0, -1)]) {
        expect(await admin(orderNo, { note: 'x', request_id: uniq('req') }, key)).toEqual({
          status: 401,
          body: { detail: '管理密钥错误' },
        });
        expect(await call(app, 'GET', '/api/v1/admin/reconcile?date=2024-04-25', { adminKey: key })).toEqual({
          status: 401,
          body: { detail: '管理密钥错误' },
        });
      }
      expect(await q('SELECT COUNT(*) AS n FROM payment_refunds WHERE order_no = ?', [orderNo])).toEqual([{ n: 0 }]);
      expect(await orderStatus(orderNo)).toBe('paid');
    });

    if (kind === 'sqlite' && version === 'v2') {
      it('without ADMIN_API_KEY the admin endpoints are switched off (403)', async () => {
        const bare = await startApp({ ...app.db.env, WECHAT_SANDBOX: 'true', DB_MIGRATE_ON_START: 'false' });
        try {
          expect(
            await call(bare, 'POST', '/api/v1/admin/orders/ORD1/refund', { body: { note: 'x', request_id: 'r1' }, adminKey: 'anything' }),
          ).toEqual({
            status: 403,
            body: { detail: '管理接口未启用' },
          });
          expect(await call(bare, 'GET', '/api/v1/admin/reconcile?date=2024-04-25')).toEqual({
            status: 403,
            body: { detail: '管理接口未启用' },
          });
        } finally {
          await bare.close();
        }
      });
    }
  });
});
