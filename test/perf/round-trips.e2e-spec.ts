import { DatabaseService } from '../../src/database/database.service';
import { MYSQL, mysqlEnabled } from '../setup/mysql';
import { MysqlStatementRecorder, RecordedStatement } from '../setup/mysql-statement-recorder';
import { startAppOnFreshDb, TestApp } from '../setup/test-app';
import { call, Json, login, sendNotification } from '../support/api-client';
import { placeOrder } from '../support/orders';
import { v2Notification } from '../support/pay-notifications';
import { eventXml, signedPush, TEST_KEYS, wechatEnv } from '../support/wechat-push';
import { uniq } from '../support/unique';

/**
 * Round trips to MySQL per request, counted on the wire (every command the server receives), not
 * timed: the budget of docs/performance.md. Transaction bookkeeping counts (START/COMMIT/SET).
 */
const describeMysql = mysqlEnabled() ? describe : describe.skip;

describeMysql('round trips per request [mysql]', () => {
  let app: TestApp;
  let recorder: MysqlStatementRecorder;
  const q = (sql: string, p: unknown[] = []) => app.app.get(DatabaseService).dataSource.query<Json[]>(sql, p);

  beforeAll(async () => {
    recorder = new MysqlStatementRecorder(MYSQL.host, MYSQL.port);
    await recorder.start();
    app = await startAppOnFreshDb('mysql', {
      ...wechatEnv(),
      MYSQL_PORT: String(recorder.port),
      WECHAT_SANDBOX: 'true',
      WECHAT_PAY_VERSION: 'v2',
    });
  });

  afterAll(async () => {
    await app?.close();
    await recorder?.stop();
  });

  /** The statements one request costs (the pool is warmed first, so no connection set-up counts). */
  async function statementsOf(request: () => Promise<unknown>): Promise<RecordedStatement[]> {
    recorder.take();
    await request();
    await new Promise((r) => setTimeout(r, 50)); // anything sent after the answer counts too
    return recorder.take();
  }
  const writes = (s: RecordedStatement[]) => s.filter((x) => /^\s*(START|BEGIN|INSERT|UPDATE|DELETE|REPLACE)\b/i.test(x.sql));
  const bookkeeping = (s: RecordedStatement[]) => s.filter((x) => /^\s*SET\s+(SESSION\s+)?TRANSACTION\b/i.test(x.sql));

  it('every transaction runs READ COMMITTED, set once per connection rather than per transaction', async () => {
    const level = await app.app.get(DatabaseService).transaction(async (em) => {
      for (const v of ['@@transaction_isolation', '@@tx_isolation']) {
        try {
          return String(Object.values((await em.query(`SELECT ${v} AS l`))[0])[0]);
        } catch {
          /* the other server's spelling */
        }
      }
      return '?';
    });
    expect(level).toBe('READ-COMMITTED');
  });

  it('a subscribe push of a new follower: one transaction, at most 6 statements', async () => {
    const push = () => {
      const p = signedPush(TEST_KEYS, 'plaintext', eventXml(uniq('oSub'), 'subscribe'));
      return fetch(`${app.url}${p.path()}`, { method: 'POST', body: p.body });
    };
    await push(); // warm-up: every pooled connection in use is set up
    const s = await statementsOf(push);
    expect(s.filter((x) => /^\s*START TRANSACTION/i.test(x.sql))).toHaveLength(1);
    expect(bookkeeping(s)).toEqual([]);
    expect(s.length).toBeLessThanOrEqual(6);
  });

  it('a notification for a new order: at most 7 statements; a duplicate of it: at most 2 and no write', async () => {
    const openid = uniq('oPay');
    const order = await placeOrder(app, openid);
    const n = v2Notification(app.config, { ...order, transactionId: uniq('42') });
    const first = await statementsOf(async () => expect((await sendNotification(app, n)).text).toContain('SUCCESS'));
    expect(bookkeeping(first)).toEqual([]);
    expect(first.length).toBeLessThanOrEqual(7);
    const dup = await statementsOf(async () => expect((await sendNotification(app, n)).text).toContain('SUCCESS'));
    expect(writes(dup)).toEqual([]);
    expect(dup.length).toBeLessThanOrEqual(2);
    const [user] = await q('SELECT remaining_credits AS r FROM wechat_users WHERE openid = ?', [openid]);
    expect(Number(user.r)).toBe(20); // initial 10 + the package's 10, once
  });

  it('GET /user/credits: one statement', async () => {
    const token = await login(app, uniq('oCr'));
    await call(app, 'GET', '/api/v1/user/credits', { token });
    const s = await statementsOf(async () => expect((await call(app, 'GET', '/api/v1/user/credits', { token })).status).toBe(200));
    expect(s).toHaveLength(1);
  });
});
