import { Clock } from '../../src/common/clock';
import { DatabaseService } from '../../src/database/database.service';
import { internalSignature } from '../../src/common/internal-signature';
import { expectInvariants } from '../setup/invariants';
import { AppOnFreshDb, dbKinds, startApp, startAppOnFreshDb, TestApp } from '../setup/test-app';

const SECRET = 'internal-endpoint-secret-0123456789';

async function signed(app: TestApp, method: string, target: string, body?: unknown, opts: { secret?: string; ts?: number } = {}) {
  const payload = body === undefined ? '' : JSON.stringify(body);
  const ts = String(opts.ts ?? Math.floor(Date.now() / 1000));
  const res = await fetch(app.url + target, {
    method,
    body: payload || undefined,
    headers: {
      'content-type': 'application/json',
      'x-internal-timestamp': ts,
      'x-internal-signature': internalSignature(opts.secret ?? SECRET, method, target, ts, payload),
    },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe.each(dbKinds())('internal endpoints [%s]', (kind) => {
  let app: AppOnFreshDb;
  const q = (sql: string, p: unknown[] = []) => app.app.get(DatabaseService).dataSource.query(sql, p);

  beforeAll(async () => {
    app = await startAppOnFreshDb(kind, { INTERNAL_API_SECRET: SECRET });
  });

  afterAll(async () => {
    await app?.close();
  });

  afterEach(async () => expectInvariants((sql) => q(sql)));

  describe('authentication', () => {
    const denied = { detail: '内部接口认证失败' };

    it('a correctly signed request passes, including a query string signed as sent', async () => {
      expect(await signed(app, 'GET', '/api/v1/internal/health')).toEqual({ status: 200, body: { success: true, database: 'connected' } });
      expect((await signed(app, 'GET', '/api/v1/internal/client/PC_1_abc?x=%20y')).status).toBe(200);
    });

    it('no signature, a wrong one, another secret, or a tampered body → 401 and nothing changes', async () => {
      expect(await fetch(`${app.url}/api/v1/internal/health`).then(async (r) => [r.status, await r.json()])).toEqual([401, denied]);
      const ts = String(Math.floor(Date.now() / 1000));
      const wrong = await fetch(`${app.url}/api/v1/internal/health`, {
        headers: { 'x-internal-timestamp': ts, 'x-internal-signature': 'f'.repeat(64) },
      });
      expect(wrong.status).toBe(401);
      expect((await signed(app, 'GET', '/api/v1/internal/health', undefined, { secret: 'another-secret-0123456789abcdef' })).status).toBe(
        401,
      );

      // Sign one body, send another.
      const body = JSON.stringify({ openid: 'oTamper0001', source: 'subscribe' });
      const sig = internalSignature(SECRET, 'POST', '/api/v1/internal/user/create-or-update', ts, body);
      const tampered = await fetch(`${app.url}/api/v1/internal/user/create-or-update`, {
        method: 'POST',
        body: body.replace('oTamper0001', 'oTamper0002'),
        headers: { 'content-type': 'application/json', 'x-internal-timestamp': ts, 'x-internal-signature': sig },
      });
      expect(tampered.status).toBe(401);
      expect(await q("SELECT openid FROM wechat_users WHERE openid LIKE 'oTamper%'")).toEqual([]);
    });

    it('a timestamp more than 300 s off, or a request replayed after 5 minutes → 401', async () => {
      expect((await signed(app, 'GET', '/api/v1/internal/health', undefined, { ts: Math.floor(Date.now() / 1000) - 301 })).status).toBe(
        401,
      );
      expect((await signed(app, 'GET', '/api/v1/internal/health', undefined, { ts: Math.floor(Date.now() / 1000) + 301 })).status).toBe(
        401,
      );
      // Capture a valid request, then replay it verbatim after the app's clock moved 6 minutes.
      const ts = String(Math.floor(Date.now() / 1000));
      const headers = {
        'x-internal-timestamp': ts,
        'x-internal-signature': internalSignature(SECRET, 'GET', '/api/v1/internal/health', ts, ''),
      };
      expect((await fetch(`${app.url}/api/v1/internal/health`, { headers })).status).toBe(200);
      // The production clock cannot move (this app has no sandbox): read 6 minutes ahead instead.
      const clock = jest.spyOn(app.app.get(Clock), 'nowMs').mockImplementation(() => Date.now() + 6 * 60 * 1000);
      try {
        expect((await fetch(`${app.url}/api/v1/internal/health`, { headers })).status).toBe(401);
      } finally {
        clock.mockRestore();
      }
    });

    it('without INTERNAL_API_SECRET the internal endpoints do not exist (404)', async () => {
      const plain = await startApp({ ...app.db.env, DB_MIGRATE_ON_START: 'false' });
      try {
        expect((await signed(plain, 'GET', '/api/v1/internal/health')).status).toBe(404);
      } finally {
        await plain.close();
      }
    });

    it('invalid input → 400 with the field named', async () => {
      expect(
        await signed(app, 'POST', '/api/v1/internal/credits/consume', { openid: 'oX', task_id: 't', task_type: 'x', amount: 0 }),
      ).toEqual({
        status: 400,
        body: { detail: expect.stringMatching(/^amount: /) },
      });
      expect(await signed(app, 'POST', '/api/v1/internal/binding/create', { client_id: 'has space inside' })).toEqual({
        status: 400,
        body: { detail: 'client_id格式错误' },
      });
    });
  });

  describe('consume and refund under concurrency', () => {
    it('20 concurrent consumes of the same task charge once and all answer the same', async () => {
      const openid = `oConc${kind}${Date.now()}`;
      await signed(app, 'POST', '/api/v1/internal/user/create-or-update', { openid, source: 'subscribe' });
      const task = { openid, task_id: `task-${Date.now()}`, task_type: 'image_edit', amount: 3 };
      const results = await Promise.all(Array.from({ length: 20 }, () => signed(app, 'POST', '/api/v1/internal/credits/consume', task)));
      for (const r of results) expect(r).toEqual({ status: 200, body: { success: true, consumed: 3, remaining_credits: 7 } });
      expect(await q("SELECT COUNT(*) AS n FROM credit_ledger WHERE reason = 'consume' AND openid = ?", [openid])).toEqual([{ n: 1 }]);
      expect(await q('SELECT COUNT(*) AS n FROM credits_usage WHERE openid = ?', [openid])).toEqual([{ n: 1 }]);
    });

    it('one task id from 6 users, each 3× concurrently: every user charged once for their own task, each answer their own balance', async () => {
      const stamp = Date.now();
      const users = Array.from({ length: 6 }, (_, i) => `oShare${i}${kind}${stamp}`);
      for (const openid of users) await signed(app, 'POST', '/api/v1/internal/user/create-or-update', { openid, source: 'subscribe' });
      const task = { task_id: `shared-${stamp}`, task_type: 'image_edit' };
      const calls = users.flatMap((openid, i) => Array.from({ length: 3 }, () => ({ openid, amount: i + 1 })));
      const results = await Promise.all(calls.map((c) => signed(app, 'POST', '/api/v1/internal/credits/consume', { ...c, ...task })));
      results.forEach((r, k) =>
        expect(r).toEqual({ status: 200, body: { success: true, consumed: calls[k].amount, remaining_credits: 10 - calls[k].amount } }),
      );
      for (const [i, openid] of users.entries()) {
        expect(await q('SELECT remaining_credits, used_credits FROM wechat_users WHERE openid = ?', [openid])).toEqual([
          { remaining_credits: 9 - i, used_credits: i + 1 },
        ]);
      }
      expect(await signed(app, 'POST', '/api/v1/internal/credits/refund', task)).toEqual({
        status: 409,
        body: { detail: '多个用户有相同的任务，请提供 openid 或 client_id' },
      });
    });

    it('concurrent different tasks never take more than the balance: the rest get 402 and write nothing', async () => {
      const openid = `oDrain${kind}${Date.now()}`;
      await signed(app, 'POST', '/api/v1/internal/user/create-or-update', { openid, source: 'subscribe' });
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          signed(app, 'POST', '/api/v1/internal/credits/consume', { openid, task_id: `drain-${i}`, task_type: 'image_edit', amount: 3 }),
        ),
      );
      const ok = results.filter((r) => r.status === 200);
      const short = results.filter((r) => r.status === 402);
      expect(ok).toHaveLength(3); // 10 credits: three tasks of 3
      expect(short).toHaveLength(5);
      for (const r of short) expect(r.body).toEqual({ detail: '额度不足' });
      expect(await q('SELECT remaining_credits, used_credits FROM wechat_users WHERE openid = ?', [openid])).toEqual([
        { remaining_credits: 1, used_credits: 9 },
      ]);
      expect(await q('SELECT COUNT(*) AS n FROM credits_usage WHERE openid = ?', [openid])).toEqual([{ n: 3 }]);
    });

    it('10 concurrent refunds of one task give back once', async () => {
      const openid = `oRef${kind}${Date.now()}`;
      await signed(app, 'POST', '/api/v1/internal/user/create-or-update', { openid, source: 'subscribe' });
      const task = { task_id: `rtask-${Date.now()}`, task_type: 'image_edit' };
      await signed(app, 'POST', '/api/v1/internal/credits/consume', { openid, ...task, amount: 5 });
      const results = await Promise.all(
        Array.from({ length: 10 }, () => signed(app, 'POST', '/api/v1/internal/credits/refund', { ...task, amount: 2 })),
      );
      for (const r of results) expect(r).toEqual({ status: 200, body: { success: true, refunded: 2, remaining_credits: 7 } });
      expect(await q("SELECT COUNT(*) AS n FROM credit_ledger WHERE reason = 'refund' AND openid = ?", [openid])).toEqual([{ n: 1 }]);
    });
  });
});
