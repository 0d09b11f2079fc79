import { DatabaseService } from '../../src/database/database.service';
import { mysqlEnabled } from '../setup/mysql';
import { startAppOnFreshDb, TestApp } from '../setup/test-app';
import { call, Json, login, sendNotification } from '../support/api-client';
import { buy, placeOrder } from '../support/orders';
import { BuiltNotification, v2Notification } from '../support/pay-notifications';
import { eventXml, signedPush, TEST_KEYS, wechatEnv } from '../support/wechat-push';
import { uniq } from '../support/unique';

/**
 * `MYSQL_POOL_SIZE=1`, which the configuration allows. Code that waits for a second pooled
 * connection while it holds one stalls a pool of one for good, and a pool of N under N such
 * requests at once: every test here would time out. The boot's migration lock was such a case
 * (it held a pooled connection while the migrations waited for another); it now has a connection
 * of its own.
 */
const describeMysql = mysqlEnabled() ? describe : describe.skip;

describeMysql('a pool of one connection [mysql]', () => {
  let app: TestApp;
  const q = (sql: string, p: unknown[] = []) => app.app.get(DatabaseService).dataSource.query<Json[]>(sql, p);
  const notify = async (n: BuiltNotification) => (await sendNotification(app, n)).text;

  beforeAll(async () => {
    app = await startAppOnFreshDb('mysql', { ...wechatEnv(), WECHAT_SANDBOX: 'true', WECHAT_PAY_VERSION: 'v2', MYSQL_POOL_SIZE: '1' });
  });

  afterAll(async () => {
    await app?.close();
  });

  it('boots (migrating the empty database), follows a subscriber, logs in, sells and shows credits', async () => {
    const follower = uniq('oFollow');
    const p = signedPush(TEST_KEYS, 'plaintext', eventXml(follower, 'subscribe'));
    const pushed = await fetch(`${app.url}${p.path()}`, { method: 'POST', body: p.body });
    expect(pushed.status).toBe(200);
    expect(await q('SELECT remaining_credits AS r FROM wechat_users WHERE openid = ?', [follower])).toEqual([{ r: 10 }]);

    const buyer = uniq('oBuy');
    const order = await buy(app, buyer);
    const token = await login(app, buyer);
    expect((await call(app, 'GET', '/api/v1/user/credits', { token })).body).toMatchObject({ remaining_credits: 20 });
    expect((await call(app, 'GET', `/api/v1/payment/orders/${order.orderNo}`, { token })).body.order.status).toBe('paid');
  });

  it('answers every kind of payment result, and writes the anomaly of each refusal', async () => {
    const paid = await placeOrder(app, uniq('oOne'));
    const transactionId = uniq('45');
    const n = v2Notification(app.config, { ...paid, transactionId });
    expect(await notify(n)).toContain('SUCCESS');
    expect(await notify(n)).toContain('SUCCESS'); // the duplicate, answered from the read
    const other = await placeOrder(app, uniq('oTwo'));
    const refused = [
      v2Notification(app.config, { ...other, transactionId: uniq('46'), totalFen: 1 }),
      v2Notification(app.config, { ...other, orderNo: 'ORD20990101000000NOSUCH', transactionId: uniq('47') }),
      v2Notification(app.config, { ...other, transactionId }),
    ];
    for (const r of refused) expect(await notify(r)).toContain('FAIL');
    const anomalies = await q('SELECT kind FROM payment_anomalies WHERE order_no IN (?, ?) ORDER BY id', [
      other.orderNo,
      'ORD20990101000000NOSUCH',
    ]);
    expect(anomalies.map((r) => r.kind)).toEqual(['amount_mismatch', 'unknown_order', 'transaction_reused']);
    expect(await notify(v2Notification(app.config, { ...other, transactionId: uniq('48') }))).toContain('SUCCESS');
    expect(await q('SELECT remaining_credits AS r FROM wechat_users WHERE openid = ?', [other.openid])).toEqual([{ r: 20 }]);
  });
});
