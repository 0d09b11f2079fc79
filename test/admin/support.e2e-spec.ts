import { DatabaseService } from '../../src/database/database.service';
import { InternalApi } from '../../src/internal/internal-api';
import { expectInvariants } from '../setup/invariants';
import { AppOnFreshDb, dbKinds, startApp, startAppOnFreshDb, TestApp } from '../setup/test-app';
import { insertOrder } from '../support/seed';
import { call, Json, login } from '../support/api-client';

const ADMIN_KEY = 'admin-key-for-tests-0123456789';

async function bind(app: TestApp, clientId: string, openid: string): Promise<void> {
  const qr = await call(app, 'POST', '/api/v1/auth/wechat/qrcode', { body: { client_id: clientId } });
  expect((await call(app, 'POST', '/sandbox/actions/scan', { body: { ticket: qr.body.ticket, openid } })).status).toBe(200);
}

describe.each(dbKinds())('members and support [%s]', (kind) => {
  let app: AppOnFreshDb;
  const q = (sql: string, p: unknown[] = []) => app.app.get(DatabaseService).dataSource.query<Json[]>(sql, p);

  beforeAll(async () => {
    app = await startAppOnFreshDb(kind, { WECHAT_SANDBOX: 'true', ADMIN_API_KEY: ADMIN_KEY });
  });

  afterAll(async () => {
    await app?.close();
  });

  afterEach(async () => expectInvariants((sql) => q(sql)));

  describe('bound desktops', () => {
    it('a member lists and unbinds their desktop; its next credits call is 404 用户未关注公众号; nobody else can unbind it', async () => {
      const owner = 'oDeviceOwner000000000000001';
      const clientId = 'PC_1730000000000_devices01';
      await bind(app, clientId, owner);
      const token = await login(app, owner);
      const list = await call(app, 'GET', '/api/v1/user/devices', { token });
      expect(list.status).toBe(200);
      expect(list.body.devices).toEqual([{ id: expect.any(Number), client: 'PC_1730…es01', bound_at: expect.stringMatching(/\+08:00$/) }]);
      const id = list.body.devices[0].id;

      const intruder = await login(app, 'oDeviceIntruder00000000001');
      expect(await call(app, 'DELETE', `/api/v1/user/devices/${id}`, { token: intruder })).toEqual({
        status: 404,
        body: { detail: '设备不存在' },
      });
      expect((await call(app, 'GET', `/api/v1/user/credits?client_id=${clientId}`)).status).toBe(200);

      expect(await call(app, 'DELETE', `/api/v1/user/devices/${id}`, { token })).toEqual({ status: 200, body: { success: true } });
      expect(await call(app, 'GET', `/api/v1/user/credits?client_id=${clientId}`)).toEqual({
        status: 404,
        body: { detail: '用户未关注公众号' },
      });
      expect((await call(app, 'GET', '/api/v1/user/devices', { token })).body.devices).toEqual([]);
      expect((await call(app, 'DELETE', `/api/v1/user/devices/${id}`, { token })).status).toBe(404);
      expect((await call(app, 'DELETE', '/api/v1/user/devices/abc', { token })).status).toBe(404);
      expect((await call(app, 'GET', '/api/v1/user/devices')).status).toBe(401);
    });
  });

  describe('admin support', () => {
    it('refuses a missing or wrong key, and everything when no key is configured', async () => {
      expect(await call(app, 'GET', '/api/v1/admin/anomalies')).toEqual({ status: 401, body: { detail: '管理密钥错误' } });
      expect(await call(app, 'GET', '/api/v1/admin/anomalies', { adminKey: 'wrong' })).toEqual({
        status: 401,
        body: { detail: '管理密钥错误' },
      });
      const keyless = await startApp({ ...app.db.env, DB_MIGRATE_ON_START: 'false' });
      try {
        expect(await call(keyless, 'POST', '/api/v1/admin/credits/adjust', { adminKey: ADMIN_KEY, body: {} })).toEqual({
          status: 403,
          body: { detail: '管理接口未启用' },
        });
      } finally {
        await keyless.close();
      }
    });

    it('adjust: the same request_id twice applies once; never below zero; a reused request_id for another change is 409', async () => {
      const openid = 'oAdjustUser0000000000000001';
      await app.app.get(InternalApi).createOrUpdateUser({ openid, source: 'subscribe' });
      const req = { openid, delta: 5, note: 'compensation for ticket #42', request_id: 'adj-0001' };
      expect(await call(app, 'POST', '/api/v1/admin/credits/adjust', { adminKey: ADMIN_KEY, body: req })).toEqual({
        status: 200,
        body: { success: true, applied: true, remaining_credits: 15 },
      });
      expect(await call(app, 'POST', '/api/v1/admin/credits/adjust', { adminKey: ADMIN_KEY, body: req })).toEqual({
        status: 200,
        body: { success: true, applied: false, remaining_credits: 15 },
      });
      expect((await call(app, 'POST', '/api/v1/admin/credits/adjust', { adminKey: ADMIN_KEY, body: { ...req, delta: 6 } })).status).toBe(
        409,
      );
      const below = await call(app, 'POST', '/api/v1/admin/credits/adjust', {
        adminKey: ADMIN_KEY,
        body: { openid, delta: -16, note: 'too much', request_id: 'adj-0002' },
      });
      expect(below.status).toBe(400);
      expect(below.body.detail).toMatch(/^delta: /);
      expect(
        await call(app, 'POST', '/api/v1/admin/credits/adjust', {
          adminKey: ADMIN_KEY,
          body: { openid, delta: -15, note: 'all', request_id: 'adj-0003' },
        }),
      ).toMatchObject({
        body: { applied: true, remaining_credits: 0 },
      });
      expect(await q("SELECT delta, ref FROM credit_ledger WHERE openid = ? AND reason = 'admin_adjust' ORDER BY id", [openid])).toEqual([
        { delta: 5, ref: 'adj-0001' },
        { delta: -15, ref: 'adj-0003' },
      ]);
      expect(
        (
          await call(app, 'POST', '/api/v1/admin/credits/adjust', {
            adminKey: ADMIN_KEY,
            body: { openid: 'oNobody', delta: 1, note: 'x', request_id: 'adj-9' },
          })
        ).status,
      ).toBe(404);
      expect(
        (
          await call(app, 'POST', '/api/v1/admin/credits/adjust', {
            adminKey: ADMIN_KEY,
            body: { openid, delta: 0, note: 'x', request_id: 'adj-10' },
          })
        ).status,
      ).toBe(400);
    });

    it('user lookup by openid, client_id and order_no shows bindings, orders, ledger and anomalies', async () => {
      const openid = 'oLookupUser0000000000000001';
      const clientId = 'PC_1730000000000_lookup001';
      await bind(app, clientId, openid);
      await insertOrder(app.app.get(DatabaseService).dataSource, {
        orderNo: 'ORDLOOKUP0000000000001',
        openid,
        type: 'credits',
        amountFen: 990,
        credits: 10,
      });
      await app.app
        .get(InternalApi)
        .applyPayment({
          order_no: 'ORDLOOKUP0000000000001',
          status: 'paid',
          transaction_id: 'T-lookup-1',
          total_fen: 1,
          payer_openid: openid,
        })
        .catch(() => undefined);
      for (const by of [`openid=${openid}`, `client_id=${clientId}`, 'order_no=ORDLOOKUP0000000000001']) {
        const r = await call(app, 'GET', `/api/v1/admin/users?${by}`, { adminKey: ADMIN_KEY });
        expect(r.status).toBe(200);
        expect(r.body.user).toMatchObject({ openid, remaining_credits: 10, subscribed: true });
        expect(r.body.bindings).toEqual([expect.objectContaining({ client_id: clientId, status: 'completed' })]);
        expect(r.body.orders).toEqual([expect.objectContaining({ order_no: 'ORDLOOKUP0000000000001', status: 'pending', amount: 9.9 })]);
        expect(r.body.ledger).toEqual([expect.objectContaining({ reason: 'signup_bonus', delta: 10 })]);
        expect(r.body.anomalies).toEqual([expect.objectContaining({ kind: 'amount_mismatch' })]);
      }
      expect((await call(app, 'GET', '/api/v1/admin/users?openid=oNobodyAtAll', { adminKey: ADMIN_KEY })).status).toBe(404);
      expect((await call(app, 'GET', '/api/v1/admin/users', { adminKey: ADMIN_KEY })).status).toBe(400);
      const anomalies = await call(
        app,
        'GET',
        `/api/v1/admin/anomalies?since=${encodeURIComponent(new Date(Date.now() - 60_000).toISOString())}`,
        { adminKey: ADMIN_KEY },
      );
      expect(anomalies.body.anomalies.map((a: Json) => a.order_no)).toContain('ORDLOOKUP0000000000001');
    });
  });
});
