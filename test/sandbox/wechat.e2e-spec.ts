import { SANDBOX_CREDENTIALS } from '../../src/config/sandbox-defaults';
import { DatabaseService } from '../../src/database/database.service';
import { OfficialAccountClient } from '../../src/wechat/official-account.client';
import { PayResponseSignatureError } from '../../src/wechat/pay/pay-errors';
import { PayClient } from '../../src/wechat/pay/pay.client';
import { PayV3Client } from '../../src/wechat/pay/client/v3.client';
import { mysqlEnabled } from '../setup/mysql';
import { dbKinds, startApp, TestApp, TestDatabase } from '../setup/test-app';

/**
 * The production client code against the sandbox over real HTTP (issue: protocol layer and
 * sandbox): the shared token across instances, 40001 recovery, v2 and v3 order round trips,
 * certificate download, and a forged server answer refused.
 */
async function sandboxJson(app: TestApp, path: string, body?: unknown) {
  const res = await fetch(
    app.url + path,
    body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
  );
  return (await res.json()) as Record<string, unknown>;
}

const tokenFetches = async (app: TestApp) => Number((await sandboxJson(app, '/sandbox/stats')).token_fetches);

(mysqlEnabled() ? describe : describe.skip)('access token shared by two instances through the sandbox [mysql]', () => {
  let db: TestDatabase;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    db = await TestDatabase.create('mysql');
    a = await startApp({ ...db.env, WECHAT_SANDBOX: 'true' });
    await a.app.get(DatabaseService).whenReady();
    // B has no sandbox of its own: it talks to A's, with the same credentials, on the same database.
    b = await startApp({
      ...db.env,
      WECHAT_APPID: SANDBOX_CREDENTIALS.WECHAT_APPID,
      WECHAT_SECRET: SANDBOX_CREDENTIALS.WECHAT_SECRET,
      WECHAT_TOKEN: SANDBOX_CREDENTIALS.WECHAT_TOKEN,
      WECHAT_API_BASE: a.config.wechat.apiBase,
    });
    await b.app.get(DatabaseService).whenReady();
    await sandboxJson(a, '/sandbox/reset', {});
  });

  afterAll(async () => {
    await b?.close();
    await a?.close();
    await db?.drop();
  });

  it('50 concurrent calls spread over both instances → exactly one token fetch at the sandbox', async () => {
    const clients = [a, b].map((x) => x.app.get(OfficialAccountClient, { strict: false }));
    const tokens = await Promise.all(Array.from({ length: 50 }, (_, i) => clients[i % 2].accessToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(await tokenFetches(a)).toBe(1);
  });

  it('a forced 40001 → one refresh and a successful retry', async () => {
    const client = b.app.get(OfficialAccountClient, { strict: false });
    const before = await tokenFetches(a);
    await sandboxJson(a, '/sandbox/faults', { token: '40001-once' });
    const menu = await client.getMenu().catch((e: { errcode?: number }) => e);
    // No menu yet is errcode 46003 at WeChat; either way the token was refreshed once and retried.
    expect((menu as { errcode?: number }).errcode ?? 0).not.toBe(40001);
    expect(await tokenFetches(a)).toBe(before + 1);
    await sandboxJson(a, '/sandbox/faults', { token: null });
  });
});

describe.each(['v2', 'v3'] as const)('WeChat Pay %s client against the sandbox', (version) => {
  let app: TestApp;
  let pay: PayClient;
  const openid = 'oSandboxPayer000000000000001';

  beforeAll(async () => {
    const [kind] = dbKinds();
    const db = await TestDatabase.create(kind);
    app = await startApp({ ...db.env, WECHAT_SANDBOX: 'true', WECHAT_PAY_VERSION: version, WECHAT_PAY_SIGN_TYPE: 'HMAC-SHA256' });
    await app.app.get(DatabaseService).whenReady();
    pay = app.app.get(PayClient, { strict: false });
    expect(pay.version).toBe(version);
  });

  afterAll(async () => {
    await app?.close();
  });

  const newOrder = (n: string) => ({
    orderNo: `ORD${version.toUpperCase()}${Date.now()}${n}`,
    description: '图片编辑额度10张',
    amountFen: 990,
    payerOpenid: openid,
    payerIp: '127.0.0.1',
    notifyUrl: `${app.url}/api/v1/payment/notify`,
    expireAt: new Date(Date.now() + 1800_000),
  });

  it('order → query → close → query round trip', async () => {
    const o = newOrder('A');
    const placed = await pay.createJsapiOrder(o);
    expect(placed.prepayId).toBeTruthy();
    expect(placed.paymentParams).toMatchObject({
      appId: app.config.wechat.appId,
      package: `prepay_id=${placed.prepayId}`,
      signType: version === 'v2' ? 'HMAC-SHA256' : 'RSA',
    });
    for (const v of Object.values(placed.paymentParams)) expect(typeof v).toBe('string');
    expect((await pay.queryOrder(o.orderNo)).state).toBe('NOTPAY');
    await pay.closeOrder(o.orderNo);
    expect((await pay.queryOrder(o.orderNo)).state).toBe('CLOSED');
  });

  it('a paid order queries as SUCCESS with amount, payer and transaction id', async () => {
    const o = newOrder('B');
    const placed = await pay.createJsapiOrder(o);
    await sandboxJson(app, '/sandbox/actions/pay', { prepay_id: placed.prepayId, result: 'success', notify: 'never' });
    const r = await pay.queryOrder(o.orderNo);
    expect(r).toMatchObject({ state: 'SUCCESS', totalFen: 990, payerOpenid: openid, transactionId: expect.any(String) });
  });

  it('an answer with a bad signature from the "server" is refused', async () => {
    await sandboxJson(app, '/sandbox/faults', { pay: 'bad_signature' });
    try {
      await expect(pay.queryOrder(`ORDNOPE${Date.now()}`)).rejects.toBeInstanceOf(PayResponseSignatureError);
      await expect(pay.createJsapiOrder(newOrder('C'))).rejects.toBeInstanceOf(PayResponseSignatureError);
    } finally {
      await sandboxJson(app, '/sandbox/faults', { pay: null });
    }
  });

  if (version === 'v3') {
    it('downloads the platform certificates and accepts answers signed by the certificate or the public key', async () => {
      const v3 = pay as PayV3Client;
      await v3.certificates.refresh();
      expect(v3.certificates.certificateSerials().length).toBeGreaterThan(0);
      await sandboxJson(app, '/sandbox/faults', { v3_serial: 'certificate' });
      try {
        expect((await pay.queryOrder(`ORDNONE${Date.now()}`)).state).toBe('NOT_FOUND');
      } finally {
        await sandboxJson(app, '/sandbox/faults', { v3_serial: 'public_key' });
      }
      expect((await pay.queryOrder(`ORDNONE${Date.now()}`)).state).toBe('NOT_FOUND');
    });
  }
});
