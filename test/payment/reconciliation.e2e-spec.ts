import { DatabaseService } from '../../src/database/database.service';
import { PaymentApplyService } from '../../src/payment/orders/payment-apply.service';
import { ReconciliationJob } from '../../src/payment/reconciliation/reconciliation.job';
import { shanghaiDate } from '../../src/common/time-format';
import { expectInvariants } from '../setup/invariants';
import { dbKinds, eventually, startAppOnFreshDb, TestApp } from '../setup/test-app';
import { call, Json } from '../support/api-client';
import { buy, payInSandbox, placeOrder } from '../support/orders';
import { uniq } from '../support/unique';

type Version = 'v2' | 'v3';

const ADMIN_KEY = 'reconcile-admin-key-0123456789';

describe.each(dbKinds())('reconciliation [%s]', (kind) => {
  describe.each(['v2', 'v3'] as const)('WeChat Pay %s', (version: Version) => {
    let app: TestApp;
    const q = (sql: string, p: unknown[] = []) => app.app.get(DatabaseService).dataSource.query<Json[]>(sql, p);
    const reconcile = (date: string, adminKey = ADMIN_KEY) => call(app, 'GET', `/api/v1/admin/reconcile?date=${date}`, { adminKey });
    const orderStatus = async (orderNo: string) => (await q('SELECT status FROM payment_orders WHERE order_no = ?', [orderNo]))[0]?.status;
    const credits = async (openid: string) =>
      Number((await q('SELECT remaining_credits AS r FROM wechat_users WHERE openid = ?', [openid]))[0]?.r);
    const today = () => shanghaiDate(new Date());

    beforeAll(async () => {
      app = await startAppOnFreshDb(kind, { WECHAT_SANDBOX: 'true', WECHAT_PAY_VERSION: version, ADMIN_API_KEY: ADMIN_KEY });
    });

    afterAll(async () => {
      await app?.close();
    });

    afterEach(async () => {
      await expectInvariants((sql) => q(sql));
    });

    it('a lost notification, an amount difference and an order unknown to WeChat are exactly the differences; the lost one is applied once', async () => {
      const [matchedUser, lostUser, diffUser, ghostUser] = ['oRecOk', 'oRecLost', 'oRecDiff', 'oRecGhost'].map(uniq);
      const matched = await buy(app, matchedUser);
      // WeChat took the money, we were never told.
      const lost = await placeOrder(app, lostUser);
      await payInSandbox(app, lost, 'never');
      // Our order says 19.90 while WeChat took 9.90 (a price changed under a pending order).
      const diff = await placeOrder(app, diffUser);
      await q("UPDATE payment_orders SET amount_fen = 1990, amount = '19.90' WHERE order_no = ?", [diff.orderNo]);
      await payInSandbox(app, diff, 'never');
      // Paid here (a payment that never reached WeChat), unknown to WeChat's bill.
      const ghost = await placeOrder(app, ghostUser);
      await app.app
        .get(PaymentApplyService)
        .apply({ orderNo: ghost.orderNo, status: 'paid', transactionId: uniq('4200FAKE'), totalFen: 990, payerOpenid: ghostUser });
      expect([await orderStatus(lost.orderNo), await orderStatus(diff.orderNo), await orderStatus(ghost.orderNo)]).toEqual([
        'pending',
        'pending',
        'paid',
      ]);

      const r = await reconcile(today());
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({
        success: true,
        date: today(),
        pay_version: version,
        bill_lines: 3,
        wechat_payments: 3,
        our_payments: 2,
        matched: 1,
      });
      const byKind = Object.fromEntries((r.body.differences as Json[]).map((d) => [d.kind, d]));
      expect(r.body.differences).toHaveLength(3);
      expect(byKind.paid_not_here).toMatchObject({
        order_no: lost.orderNo,
        wechat_amount_fen: 990,
        our_amount_fen: 990,
        our_status: 'pending',
        applied: true,
      });
      expect(byKind.amount_mismatch).toMatchObject({
        order_no: diff.orderNo,
        wechat_amount_fen: 990,
        our_amount_fen: 1990,
        our_status: 'pending',
      });
      expect(byKind.not_paid_at_wechat).toMatchObject({
        order_no: ghost.orderNo,
        wechat_amount_fen: null,
        our_amount_fen: 990,
        our_status: 'paid',
      });
      expect(matched.orderNo).not.toBe(lost.orderNo);

      // The lost payment went through the normal payment path, once.
      expect(await orderStatus(lost.orderNo)).toBe('paid');
      expect(await credits(lostUser)).toBe(20);
      expect(await q('SELECT COUNT(*) AS n FROM payment_records WHERE order_no = ?', [lost.orderNo])).toEqual([{ n: 1 }]);
      expect(await orderStatus(diff.orderNo)).toBe('pending');
      expect(await credits(diffUser)).toBe(10);

      // Again, three at once: nothing is applied twice; the lost one is now simply matched.
      const again = await Promise.all([reconcile(today()), reconcile(today()), reconcile(today())]);
      for (const a of again) {
        expect(a.status).toBe(200);
        expect((a.body.differences as Json[]).map((d) => d.kind).sort()).toEqual(['amount_mismatch', 'not_paid_at_wechat']);
        expect(a.body.matched).toBe(2);
      }
      expect(await credits(lostUser)).toBe(20);
      expect(await q("SELECT COUNT(*) AS n FROM credit_ledger WHERE reason = 'purchase' AND ref = ?", [lost.orderNo])).toEqual([{ n: 1 }]);

      // The daily job, in two processes at once: one runs the date and records the differences once.
      const job = app.app.get(ReconciliationJob);
      const runs = await Promise.all([job.runFor(today()), job.runFor(today())]);
      expect(runs.filter((x) => x.ran)).toHaveLength(1);
      expect(runs.filter((x) => !x.ran)).toEqual([{ ran: false, reason: 'claimed_elsewhere' }]);
      expect(await job.runFor(today())).toEqual({ ran: false, reason: 'claimed_elsewhere' });
      const recorded = await q("SELECT order_no, kind FROM payment_anomalies WHERE kind LIKE 'bill_%' ORDER BY order_no");
      expect(recorded.sort((a, b) => a.kind.localeCompare(b.kind))).toEqual([
        { order_no: diff.orderNo, kind: 'bill_amount_mismatch' },
        { order_no: ghost.orderNo, kind: 'bill_not_paid_at_wechat' },
      ]);
      expect(await q('SELECT status, differences FROM reconciliation_runs WHERE bill_date = ?', [today()])).toEqual([
        { status: 'done', differences: 2 },
      ]);
    });

    it('refunds completed here match the bill; a day without transactions is an empty bill; bad dates and keys are refused', async () => {
      const openid = uniq('oRecRf');
      const paid = await buy(app, openid);
      const refund = await call(app, 'POST', `/api/v1/admin/orders/${paid.orderNo}/refund`, {
        adminKey: ADMIN_KEY,
        body: { note: 'reconcile me', request_id: uniq('req') },
      });
      expect(refund.status).toBe(200);
      await eventually(async () => (await orderStatus(paid.orderNo)) === 'refunded');
      const r = await reconcile(today());
      expect(r.status).toBe(200);
      expect((r.body.differences as Json[]).filter((d) => d.order_no === paid.orderNo)).toEqual([]);
      expect(r.body.bill_lines).toBeGreaterThanOrEqual(r.body.wechat_payments + 1); // the REFUND line

      expect(await reconcile('2020-01-01')).toEqual({
        status: 200,
        body: {
          success: true,
          date: '2020-01-01',
          pay_version: version,
          bill_lines: 0,
          wechat_payments: 0,
          our_payments: 0,
          matched: 0,
          differences: [],
        },
      });
      expect(await reconcile('2999-01-01')).toEqual({ status: 400, body: { detail: 'date: must not be in the future' } });
      expect(await reconcile('2024-02-30')).toEqual({ status: 400, body: { detail: 'date: must be YYYY-MM-DD' } });
      expect(await reconcile('yesterday')).toEqual({ status: 400, body: { detail: 'date: must be YYYY-MM-DD' } });
      expect(await reconcile(today(), 'not-the-key')).toEqual({ status: 401, body: { detail: '管理密钥错误' } });
    });

    it('WeChat Pay down → 502 with a reason, nothing changed', async () => {
      await call(app, 'POST', '/sandbox/faults', { body: { pay: 'down' } });
      try {
        const r = await reconcile(today());
        expect(r.status).toBe(502);
        expect(r.body.detail).toMatch(/^对账单下载失败: /);
      } finally {
        await call(app, 'POST', '/sandbox/faults', { body: { pay: null } });
      }
    });
  });
});
