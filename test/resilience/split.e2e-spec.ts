import type { Connection } from 'mysql2/promise';
import { SANDBOX_CREDENTIALS } from '../../src/config/sandbox-defaults';
import { expectInvariants } from '../setup/invariants';
import { mysqlAdmin, mysqlEnabled } from '../setup/mysql';
import { eventually, TestDatabase } from '../setup/test-app';
import { v2Notification, v3Notification } from '../support/pay-notifications';
import { eventXml, signedPush, WechatKeys } from '../support/wechat-push';
import {
  accepted,
  APPLIED_ONCE,
  isRunning,
  NOT_APPLIED,
  paymentState,
  queryOf,
  respawn,
  seedOrder,
  sendNotification,
  Service,
  spawnService,
  sql,
  toldToRetry,
  uid,
} from './resilience-support';

/**
 * docs/quality.md "app server down in split mode": the web role (which takes WeChat's callbacks and
 * has no database) answers WeChat 503 / FAIL while the app server is stopped, so that WeChat
 * retries; nothing is lost, and after the restart the retry applies exactly once. Both roles are
 * the built service as separate processes. binding/desktop-binding.e2e-spec.ts covers a push in this
 * situation; this suite covers payment notifications (v2 and v3) and re-checks the push briefly.
 */

const SECRET = 'resilience-split-internal-secret-0123456789';
const KEYS: WechatKeys = {
  token: SANDBOX_CREDENTIALS.WECHAT_TOKEN,
  appId: SANDBOX_CREDENTIALS.WECHAT_APPID,
  encodingAesKey: SANDBOX_CREDENTIALS.WECHAT_ENCODING_AES_KEY,
};

(mysqlEnabled() ? describe : describe.skip)('resilience: app server down in the split plan [mysql]', () => {
  let db: TestDatabase;
  let conn: Connection;
  let app: Service;
  const webs: Record<'v2' | 'v3', Service> = {} as Record<'v2' | 'v3', Service>;

  beforeAll(async () => {
    db = await TestDatabase.create('mysql');
    app = await spawnService({ ...db.env, APP_ROLE: 'app', INTERNAL_API_SECRET: SECRET, WECHAT_SANDBOX: 'true' });
    // The web role verifies notifications itself: it needs the merchant keys the app's sandbox made.
    const pay = app.config.pay;
    const webEnv = (version: 'v2' | 'v3') => ({
      APP_ROLE: 'web',
      INTERNAL_API_SECRET: SECRET,
      INTERNAL_API_BASE_URL: app.url,
      WECHAT_PAY_VERSION: version,
      WECHAT_APPID: KEYS.appId,
      WECHAT_SECRET: SANDBOX_CREDENTIALS.WECHAT_SECRET,
      WECHAT_TOKEN: KEYS.token,
      WECHAT_ENCODING_AES_KEY: KEYS.encodingAesKey,
      WECHAT_PAY_MCHID: pay.mchId,
      WECHAT_PAY_API_KEY: pay.apiKey,
      WECHAT_PAY_API_V3_KEY: pay.apiV3Key,
      WECHAT_PAY_PRIVATE_KEY_PATH: pay.privateKeyPath,
      WECHAT_PAY_CERT_SERIAL: pay.certSerial,
      WECHAT_PAY_PUBLIC_KEY_PATH: pay.publicKeyPath,
      WECHAT_PAY_PUBLIC_KEY_ID: pay.publicKeyId,
    });
    [webs.v2, webs.v3] = await Promise.all([spawnService(webEnv('v2')), spawnService(webEnv('v3'))]);
    conn = await mysqlAdmin(db.mysqlName);
  }, 60_000);

  afterAll(async () => {
    await conn?.end();
    for (const s of [webs.v2, webs.v3, app]) if (s && isRunning(s.app)) await s.app.stop();
    await db?.drop();
  });

  it('app server stopped → the web role answers notifications FAIL / 500 and pushes 503 at once; nothing lost; after the restart WeChat’s retries apply exactly once', async () => {
    const o2 = await seedOrder(conn);
    const o3 = await seedOrder(conn);
    const n2 = v2Notification(app.config, {
      orderNo: o2.orderNo,
      totalFen: o2.totalFen,
      openid: o2.openid,
      transactionId: o2.transactionId,
    });
    const n3 = v3Notification(app.config, {
      orderNo: o3.orderNo,
      totalFen: o3.totalFen,
      openid: o3.openid,
      transactionId: o3.transactionId,
    });
    const openid = uid('oSplitDown');
    const push = signedPush(KEYS, 'safe', eventXml(openid, 'subscribe'));
    const sendPush = () => fetch(webs.v2.url + push.path(), { method: 'POST', headers: { 'content-type': 'text/xml' }, body: push.body });

    expect(await app.app.stop('SIGTERM')).toBe(0);
    for (const [version, n] of [
      ['v2', n2],
      ['v3', n3],
    ] as const) {
      const a = await sendNotification(webs[version].url, n);
      expect({ version, retry: toldToRetry(version, a), within4s: a.ms < 4000 }).toEqual({ version, retry: true, within4s: true });
    }
    const started = Date.now();
    const down = await sendPush();
    expect({ status: down.status, body: await down.json(), within4s: Date.now() - started < 4000 }).toEqual({
      status: 503,
      body: { detail: '服务暂不可用' },
      within4s: true,
    });
    expect(await paymentState(conn, o2)).toEqual(NOT_APPLIED);
    expect(await paymentState(conn, o3)).toEqual(NOT_APPLIED);
    expect(await sql(conn, 'SELECT COUNT(*) AS n FROM wechat_users WHERE openid = ?', [openid])).toEqual([{ n: 0 }]);

    app = await respawn(app);
    await eventually(
      async () => ((await (await fetch(`${webs.v2.url}/api/v1/health`)).json()) as { app_server?: string }).app_server === 'reachable',
      15_000,
    );
    // WeChat retries: the same requests, more than once.
    for (let i = 0; i < 2; i++) {
      expect(accepted('v2', await sendNotification(webs.v2.url, n2))).toBe(true);
      expect(accepted('v3', await sendNotification(webs.v3.url, n3))).toBe(true);
      expect((await sendPush()).status).toBe(200);
    }
    expect(await paymentState(conn, o2)).toEqual(APPLIED_ONCE);
    expect(await paymentState(conn, o3)).toEqual(APPLIED_ONCE);
    expect(await sql(conn, 'SELECT reason, delta FROM credit_ledger WHERE openid = ?', [openid])).toEqual([
      { reason: 'signup_bonus', delta: 10 },
    ]);
    await expectInvariants(queryOf(conn));
  });
});
