import type { Connection } from 'mysql2/promise';
import { expectInvariants } from '../setup/invariants';
import { MYSQL, mysqlAdmin, mysqlEnabled } from '../setup/mysql';
import { TcpFaultProxy } from '../setup/tcp-fault-proxy';
import { eventually, TestDatabase } from '../setup/test-app';
import { BuiltNotification, PaidFacts, v2Notification, v3Notification } from '../support/pay-notifications';
import {
  accepted,
  APPLIED_ONCE,
  isRunning,
  Json,
  lockUserRow,
  NOT_APPLIED,
  openTransactions,
  paymentState,
  queryOf,
  respawn,
  seedOrder,
  sendNotification,
  Service,
  spawnService,
  sql,
  toldToRetry,
  USER_ROW_UPDATE,
  rowLockedElsewhere,
  uid,
  waitForStatement,
  waitForStatements,
} from './resilience-support';

/**
 * docs/quality.md "Faults", produced the way it says: a TCP fault proxy between the service and the
 * machine's MariaDB (never stopping the shared server), a deterministic SIGKILL in the middle of
 * applying a payment (the test holds a row lock on the user row from its own connection, so the
 * service's transaction blocks right after updating the order), the sandbox's injected clock for
 * "an hour later", and SIGTERM with requests in flight. The service is the built one, run as its
 * own process (`node dist/src/main.js`). Invariants (docs/data.md) are checked after every fault.
 *
 * Already covered elsewhere and not repeated here: MySQL cut *before* a notify
 * (payment/payments.e2e-spec.ts), MySQL down at start in-process (database/database-outage.e2e-spec.ts), WeChat
 * Pay down at create-order (payments), 40001 (sandbox/wechat), a push while the app server is
 * stopped in the split plan (binding/desktop-binding.e2e-spec.ts).
 */

type Version = 'v2' | 'v3';

function notification(s: Service, version: Version, facts: PaidFacts, timestamp?: number): BuiltNotification {
  return version === 'v2' ? v2Notification(s.config, facts) : v3Notification(s.config, facts, { timestamp });
}

/** A notify whose connection may be cut by a kill: resolves with status -1 instead of throwing. */
function sendOrLose(url: string, n: BuiltNotification) {
  return sendNotification(url, n).catch((err: Error) => ({
    status: -1,
    text: err.cause instanceof Error ? String(err.cause) : err.message,
    ms: 0,
  }));
}

async function health(url: string): Promise<number> {
  return (await fetch(`${url}/api/v1/health`)).status;
}

(mysqlEnabled() ? describe : describe.skip)('resilience: faults [mysql]', () => {
  let db: TestDatabase;
  let proxy: TcpFaultProxy;
  let conn: Connection;
  const running: Service[] = [];

  beforeAll(async () => {
    db = await TestDatabase.create('mysql');
    proxy = new TcpFaultProxy(MYSQL.host, MYSQL.port);
    await proxy.start();
    conn = await mysqlAdmin(db.mysqlName);
  });

  afterAll(async () => {
    for (const s of running) if (isRunning(s.app)) await s.app.stop('SIGKILL');
    await conn?.end();
    await proxy?.stop();
    await db?.drop();
  });

  afterEach(async () => {
    proxy.restore();
    await expectInvariants(queryOf(conn));
  });

  /** Through the fault proxy, with the sandbox (merchant keys, injected clock). */
  async function start(version: Version, extra: Record<string, string> = {}): Promise<Service> {
    const s = await spawnService({
      ...db.env,
      MYSQL_PORT: String(proxy.port),
      WECHAT_SANDBOX: 'true',
      WECHAT_PAY_VERSION: version,
      LOG_LEVEL: 'warn',
      ...extra,
    });
    running.push(s);
    return s;
  }

  describe.each(['v2', 'v3'] as const)('WeChat Pay %s', (version) => {
    let svc: Service;

    beforeAll(async () => {
      svc = await start(version);
    });

    it('MySQL cut while a notification is being applied → FAIL/500 within 4 s, nothing applied; after MySQL returns WeChat’s retry credits exactly once', async () => {
      const o = await seedOrder(conn);
      const n = notification(svc, version, { orderNo: o.orderNo, totalFen: o.totalFen, openid: o.openid, transactionId: o.transactionId });
      const lock = await lockUserRow(db.mysqlName!, o.openid);
      try {
        const answer = sendOrLose(svc.url, n);
        // The service's transaction has updated the order (it holds its row) and waits on the user row.
        await waitForStatement(conn, db.mysqlName!, USER_ROW_UPDATE);
        expect(await rowLockedElsewhere(db.mysqlName!, 'payment_orders', 'order_no', o.orderNo)).toBe(true);
        proxy.cut();
        const a = await answer;
        expect({ retry: toldToRetry(version, a), within4s: a.ms < 4000 }).toEqual({ retry: true, within4s: true });
      } finally {
        await lock.release();
      }
      await eventually(async () => (await openTransactions(conn, db.mysqlName!)) === 0, 10_000);
      expect(await paymentState(conn, o)).toEqual(NOT_APPLIED);

      proxy.restore();
      await eventually(async () => (await health(svc.url)) === 200, 20_000);
      expect(accepted(version, await sendOrLose(svc.url, n))).toBe(true);
      expect(accepted(version, await sendOrLose(svc.url, n))).toBe(true);
      expect(await paymentState(conn, o)).toEqual(APPLIED_ONCE);
    });

    it('SIGKILL in the middle of applying a payment → not applied at all; restarted while MySQL is down → 503 and FAIL until it is up; the retry (and one an hour later) credits exactly once', async () => {
      const o = await seedOrder(conn);
      const facts = { orderNo: o.orderNo, totalFen: o.totalFen, openid: o.openid, transactionId: o.transactionId };
      const n = notification(svc, version, facts);
      const lock = await lockUserRow(db.mysqlName!, o.openid);
      try {
        const answer = sendOrLose(svc.url, n);
        await waitForStatement(conn, db.mysqlName!, USER_ROW_UPDATE);
        expect(await rowLockedElsewhere(db.mysqlName!, 'payment_orders', 'order_no', o.orderNo)).toBe(true);
        // Mid-transaction: order updated, payment record written, ledger not yet — and now the process dies.
        await svc.app.stop('SIGKILL');
        expect((await answer).status).toBe(-1); // no answer at all: WeChat retries
      } finally {
        await lock.release();
      }
      // MariaDB rolls the orphaned transaction back once it notices its client is gone.
      await eventually(async () => (await openTransactions(conn, db.mysqlName!)) === 0, 10_000);
      expect(await paymentState(conn, o)).toEqual(NOT_APPLIED);
      await expectInvariants(queryOf(conn));

      // Restart while MySQL is unreachable: the process listens, reports 503, and refuses work.
      proxy.cut();
      svc = await respawn(svc, { waitHealthy: false });
      running.push(svc);
      await eventually(async () => (await health(svc.url)) === 503, 10_000);
      await new Promise((r) => setTimeout(r, 700));
      expect(await health(svc.url)).toBe(503);
      const during = await sendOrLose(svc.url, n);
      expect({ retry: toldToRetry(version, during), within4s: during.ms < 4000 }).toEqual({ retry: true, within4s: true });
      expect(await paymentState(conn, o)).toEqual(NOT_APPLIED);

      proxy.restore();
      await eventually(async () => (await health(svc.url)) === 200, 30_000, 200);
      expect(accepted(version, await sendOrLose(svc.url, n))).toBe(true);
      expect(await paymentState(conn, o)).toEqual(APPLIED_ONCE);

      // WeChat retries for about a day; an hour later (injected clock) the same payment is
      // acknowledged again and changes nothing. v3 retries carry the resource re-signed with a
      // fresh timestamp.
      const clock = await fetch(`${svc.url}/sandbox/clock`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ advance_seconds: 3600 }),
      });
      expect(clock.status).toBe(200);
      const later = version === 'v2' ? n : notification(svc, version, facts, Math.floor(Date.now() / 1000) + 3600);
      expect(accepted(version, await sendOrLose(svc.url, later))).toBe(true);
      expect(await paymentState(conn, o)).toEqual(APPLIED_ONCE);
    });

    afterAll(async () => {
      if (svc && isRunning(svc.app)) expect(await svc.app.stop('SIGTERM')).toBe(0);
    });
  });

  it('SIGTERM with 20 notifications in flight → every one answered SUCCESS (no 5xx from the shutdown), exit 0, each credited once', async () => {
    const svc = await start('v2');
    const openid = uid('oTerm');
    const orders = [];
    for (let i = 0; i < 20; i++) orders.push(await seedOrder(conn, { openid }));
    const lock = await lockUserRow(db.mysqlName!, openid);
    let exit!: Promise<number | null>;
    let answers!: Array<{ status: number; text: string }>;
    try {
      const inFlight = Promise.all(
        orders.map((o) =>
          sendOrLose(
            svc.url,
            v2Notification(svc.config, { orderNo: o.orderNo, totalFen: o.totalFen, openid, transactionId: o.transactionId }),
          ),
        ),
      );
      // Ten transactions (the pool) wait on the lock, the other ten for a connection.
      await waitForStatements(conn, db.mysqlName!, USER_ROW_UPDATE, 10);
      await new Promise((r) => setTimeout(r, 300));
      exit = svc.app.stop('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      expect(isRunning(svc.app)).toBe(true); // still draining
      await lock.release();
      answers = await inFlight;
    } finally {
      await lock.release();
    }
    expect(answers.map((a) => accepted('v2', a))).toEqual(orders.map(() => true));
    expect(await exit).toBe(0);
    const [paid] = await sql(conn, "SELECT COUNT(*) AS n FROM payment_orders WHERE openid = ? AND status = 'paid'", [openid]);
    const [records] = await sql(conn, 'SELECT COUNT(*) AS n FROM payment_records WHERE openid = ?', [openid]);
    const [user] = await sql(conn, 'SELECT remaining_credits AS r FROM wechat_users WHERE openid = ?', [openid]);
    expect({ paid: Number(paid.n), records: Number(records.n), remaining: Number(user.r) }).toEqual({
      paid: 20,
      records: 20,
      remaining: 200,
    });
  });

  it('WeChat Pay slower than the client timeout at create-order → 502 with detail, the order failed, no pending garbage', async () => {
    const svc = await start('v2');
    try {
      const openid = uid('oSlow');
      // Arrive as the member page does: sandbox OAuth → code → session token.
      const redirect = encodeURIComponent(`${svc.url}/wechat/member.html`);
      const auth = await fetch(
        `${svc.config.wechat.oauthBase}/connect/oauth2/authorize?appid=${svc.config.wechat.appId}&redirect_uri=${redirect}&response_type=code&scope=snsapi_base&state=member&sandbox_openid=${openid}`,
        { redirect: 'manual' },
      );
      const code = new URL(auth.headers.get('location')!).searchParams.get('code');
      const login = (await (await fetch(`${svc.url}/api/v1/auth/wechat?code=${code}`)).json()) as Json;
      const faults = (body: unknown) =>
        fetch(`${svc.url}/sandbox/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect((await faults({ pay: 'slow', slow_ms: 8000 })).status).toBe(200);
      const started = Date.now();
      const res = await fetch(`${svc.url}/api/v1/payment/create-order`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${login.token}` },
        body: JSON.stringify({ order_type: 'credits', credits_amount: 10 }),
      });
      const took = Date.now() - started;
      const body = (await res.json()) as Json;
      await faults({ pay: null });
      expect({ status: res.status, detail: body.detail }).toEqual({ status: 502, detail: expect.stringMatching(/^支付下单失败: /) });
      expect(took).toBeLessThan(8000);
      expect(await sql(conn, 'SELECT status FROM payment_orders WHERE openid = ?', [openid])).toEqual([{ status: 'failed' }]);
    } finally {
      expect(await svc.app.stop('SIGTERM')).toBe(0);
    }
  });
});
