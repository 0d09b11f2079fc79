import { SANDBOX_CREDENTIALS } from '../../src/config/sandbox-defaults';
import { DatabaseService } from '../../src/database/database.service';
import { expectInvariants } from '../setup/invariants';
import { mysqlAdmin, mysqlEnabled } from '../setup/mysql';
import { dbKinds, eventually, freePort, spawnApp, SpawnedApp, startAppOnFreshDb, TestDatabase } from '../setup/test-app';
import { eventXml, signedPush, WechatKeys } from '../support/wechat-push';

/**
 * A desktop bound through a QR code scanned in the sandbox, then seeing its credits: in role all
 * (one process), and in the two-process split (WeChat pushes to the web role, the app role owns
 * the database), including the app process stopped under a push and WeChat's retry after it is back.
 */

type Json = Record<string, any>;

const SANDBOX_KEYS: WechatKeys = {
  token: SANDBOX_CREDENTIALS.WECHAT_TOKEN,
  appId: SANDBOX_CREDENTIALS.WECHAT_APPID,
  encodingAesKey: SANDBOX_CREDENTIALS.WECHAT_ENCODING_AES_KEY,
};

async function json(url: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(
    url,
    body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
  );
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : { text } };
}

/** The desktop asks for a code, a WeChat user scans it in the sandbox; the desktop then sees its credits. */
async function bindDesktop(appUrl: string, clientId: string, openid: string) {
  const qr = await json(`${appUrl}/api/v1/auth/wechat/qrcode`, { client_id: clientId });
  expect(qr.status).toBe(200);
  const scan = await json(`${appUrl}/sandbox/actions/scan`, { ticket: qr.body.ticket, openid });
  expect(scan.status).toBe(200);
  const follow = await json(`${appUrl}/api/v1/auth/wechat/check-follow?client_id=${clientId}`);
  expect(follow.body).toMatchObject({
    success: true,
    subscribed: true,
    completed_at: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
  });
  const credits = await json(`${appUrl}/api/v1/user/credits?client_id=${clientId}`);
  expect(credits).toEqual({
    status: 200,
    body: {
      success: true,
      total_credits: 10,
      used_credits: 0,
      remaining_credits: 10,
      is_member: false,
      member_expire_at: null,
      is_followed: true,
    },
  });
}

describe.each(dbKinds())('desktop binding in role all [%s]', (kind) => {
  it('a client id is bound through the sandbox scan action and sees its credits', async () => {
    const app = await startAppOnFreshDb(kind, { WECHAT_SANDBOX: 'true' });
    try {
      await bindDesktop(app.url, 'PC_1730000000000_roleall', 'oRoleAllScanner0000000000001');
      await expectInvariants((sql) => app.app.get(DatabaseService).dataSource.query(sql));
    } finally {
      await app.close();
    }
  });
});

(mysqlEnabled() ? describe : describe.skip)('two-process split: web role + app role [mysql]', () => {
  const secret = 'split-e2e-internal-secret-0123456789';
  let db: TestDatabase;
  let app: SpawnedApp;
  let web: SpawnedApp;
  let appEnv: Record<string, string>;

  beforeAll(async () => {
    db = await TestDatabase.create('mysql');
    const [appPort, webPort] = [await freePort(), await freePort()];
    appEnv = {
      ...db.env,
      APP_ROLE: 'app',
      APP_PORT: String(appPort),
      INTERNAL_API_SECRET: secret,
      WECHAT_SANDBOX: 'true',
      // WeChat (the sandbox) pushes to the web server, as the console's server URL would.
      SANDBOX_CALLBACK_BASE: `http://127.0.0.1:${webPort}`,
    };
    app = await spawnApp(appEnv, { waitHealthy: true });
    web = await spawnApp(
      {
        APP_ROLE: 'web',
        APP_PORT: String(webPort),
        INTERNAL_API_SECRET: secret,
        INTERNAL_API_BASE_URL: app.url,
        WECHAT_APPID: SANDBOX_KEYS.appId,
        WECHAT_SECRET: SANDBOX_CREDENTIALS.WECHAT_SECRET,
        WECHAT_TOKEN: SANDBOX_KEYS.token,
        WECHAT_ENCODING_AES_KEY: SANDBOX_KEYS.encodingAesKey,
      },
      { waitHealthy: true },
    );
  });

  afterAll(async () => {
    await web?.stop();
    await app?.stop();
    await db?.drop();
  });

  it('the web role reports the app server reachable and serves no user API', async () => {
    expect((await json(`${web.url}/api/v1/health`)).body).toMatchObject({
      status: 'healthy',
      database: 'not_used',
      app_server: 'reachable',
      role: 'web',
    });
    expect((await json(`${web.url}/api/v1/user/credits?client_id=PC_x`)).status).toBe(404);
  });

  it('WeChat pushes to the web process; the effects are visible through the app process', async () => {
    await bindDesktop(app.url, 'PC_1730000000000_split01', 'oSplitScanner000000000000001');
    const deliveries = await json(`${app.url}/sandbox/deliveries`);
    expect(JSON.stringify(deliveries.body)).toContain(web.url.replace('http://', ''));
  });

  it("app process stopped → the web one answers 503; after restart WeChat's retry completes the work once", async () => {
    const openid = 'oSplitRetry00000000000000001';
    const push = signedPush(SANDBOX_KEYS, 'safe', eventXml(openid, 'subscribe'));
    const send = () => fetch(web.url + push.path(), { method: 'POST', headers: { 'content-type': 'text/xml' }, body: push.body });

    expect(await app.stop('SIGTERM')).toBe(0);
    const started = Date.now();
    const down = await send();
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ detail: '服务暂不可用' });
    expect(Date.now() - started).toBeLessThan(4000);
    expect((await json(`${web.url}/api/v1/health`)).body).toMatchObject({ status: 'degraded', app_server: 'unreachable' });

    app = await spawnApp(appEnv, { waitHealthy: true });
    await eventually(async () => (await json(`${web.url}/api/v1/health`)).body.app_server === 'reachable');
    // WeChat retries the very same request (same timestamp, nonce and signature), up to 3 times.
    for (let i = 0; i < 3; i++) expect((await send()).status).toBe(200);

    const conn = await mysqlAdmin(db.mysqlName);
    try {
      const [users] = await conn.query('SELECT remaining_credits, subscribed FROM wechat_users WHERE openid = ?', [openid]);
      expect(users).toEqual([{ remaining_credits: 10, subscribed: 1 }]);
      const [ledger] = await conn.query('SELECT reason FROM credit_ledger WHERE openid = ?', [openid]);
      expect(ledger).toEqual([{ reason: 'signup_bonus' }]);
      await expectInvariants(async (sql) => (await conn.query(sql))[0] as Json[]);
    } finally {
      await conn.end();
    }
  });
});
