import { DatabaseService } from '../../src/database/database.service';
import { consoleKey, csrfTokenFor, signConsoleSession } from '../../src/console/console-session';
import { InternalApi } from '../../src/internal/internal-api';
import { OrderExpiryJob } from '../../src/payment/orders/order-expiry.job';
import { ReconciliationJob } from '../../src/payment/reconciliation/reconciliation.job';
import { shanghaiDate, shanghaiDay } from '../../src/common/time-format';
import { expectInvariants } from '../setup/invariants';
import { dbKinds, startApp, startAppOnFreshDb, TEST_SESSION_SECRET, TestApp, TestDatabase } from '../setup/test-app';
import { Json } from '../support/api-client';

/**
 * The operator console's API over real HTTP on SQLite and MySQL (docs/operator-guide.md): the login
 * handshake, the session and CSRF rules, the dashboard's day buckets, and each audited action.
 * The browser suite (test/browser/console.e2e-spec.ts) drives the same through the pages.
 */
const OPERATOR = 'oConsoleApiOperator';
const KEY = consoleKey(TEST_SESSION_SECRET);

let seq = 0;
const uid = (p: string) => `${p}${Date.now().toString(36)}${(seq++).toString(36)}`;

describe.each(dbKinds())('console API [%s]', (kind) => {
  let t: TestApp;
  const q = (sql: string, p: unknown[] = []) => t.app.get(DatabaseService).dataSource.query<Json[]>(sql, p);
  const at = (d: Date) => (kind === 'mysql' ? d : d.toISOString().replace('T', ' ').replace('Z', ''));

  beforeAll(async () => {
    t = await startAppOnFreshDb(kind, { WECHAT_SANDBOX: 'true', RATE_LIMIT_PER_MINUTE: '100000', ADMIN_OPENIDS: OPERATOR });
  });

  afterEach(async () => {
    await expectInvariants((sql) => q(sql));
  });

  afterAll(async () => {
    await t?.close();
  });

  function session(openid = OPERATOR) {
    const token = signConsoleSession(KEY, openid, Math.floor(Date.now() / 1000), 600);
    return { cookie: `wx_console=${token}`, csrf: csrfTokenFor(KEY, token) };
  }

  async function req(method: string, path: string, opts: { body?: unknown; csrf?: string | null; cookie?: string | null } = {}) {
    const s = session();
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const cookie = opts.cookie === undefined ? s.cookie : opts.cookie;
    if (cookie) headers.cookie = cookie;
    const csrf = opts.csrf === undefined ? s.csrf : opts.csrf;
    if (csrf && method !== 'GET') headers['x-csrf-token'] = csrf;
    const res = await fetch(`${t.url}/api/v1/console${path}`, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Json, headers: res.headers };
  }

  it('login handshake: the QR sets an HttpOnly poll cookie; waiting → approved once (session cookie) → spent', async () => {
    const qr = await fetch(`${t.url}/api/v1/console/login/qr`, { method: 'POST' });
    expect(qr.status).toBe(200);
    const body = (await qr.json()) as Json;
    expect(body).toMatchObject({ success: true, expire_seconds: 120, qrcode_url: expect.stringContaining('/cgi-bin/showqrcode?ticket=') });
    const setCookie = qr.headers.get('set-cookie')!;
    expect(setCookie).toMatch(
      /^wx_console_login=[A-Za-z0-9_-]{43}; Path=\/api\/v1\/console\/login; Max-Age=120; HttpOnly; SameSite=Strict$/,
    );
    expect(qr.headers.get('cache-control')).toBe('no-store');
    expect(qr.headers.get('content-security-policy')).toContain("default-src 'none'");
    const loginCookie = setCookie.split(';')[0];
    const poll = () => fetch(`${t.url}/api/v1/console/login/poll`, { method: 'POST', headers: { cookie: loginCookie } });

    expect(await (await poll()).json()).toEqual({ success: true, status: 'waiting' });
    const [scene] = await q('SELECT scene_str FROM console_login_scenes ORDER BY id DESC LIMIT 1');
    expect(await t.app.get(InternalApi).consoleLogin({ scene: String(scene.scene_str), openid: OPERATOR })).toEqual({
      success: true,
      result: 'approved',
    });
    const approved = await poll();
    expect(await approved.json()).toEqual({ success: true, status: 'approved' });
    const cookies = approved.headers.getSetCookie();
    expect(cookies[0]).toMatch(/^wx_console=[^;]+; Path=\/api\/v1\/console; Max-Age=1800; HttpOnly; SameSite=Strict$/);
    expect(cookies[1]).toBe('wx_console_login=; Path=/api/v1/console/login; Max-Age=0; HttpOnly; SameSite=Strict');
    // The session works; the same poll secret never gives a second one.
    const me = await req('GET', '/session', { cookie: cookies[0].split(';')[0] });
    expect(me.body).toMatchObject({ success: true, openid: OPERATOR, csrf_token: expect.any(String) });
    expect(await (await poll()).json()).toEqual({ success: true, status: 'expired' });
    expect(await (await fetch(`${t.url}/api/v1/console/login/poll`, { method: 'POST' })).json()).toEqual({
      success: true,
      status: 'expired',
    });
  });

  it('no session → 401; an operator removed from ADMIN_OPENIDS → 401; a POST without or with a wrong CSRF token → 403', async () => {
    expect((await req('GET', '/dashboard', { cookie: null })).status).toBe(401);
    expect(
      (
        await req('GET', '/dashboard', {
          cookie: `wx_console=${signConsoleSession(KEY, 'oNotListed', Math.floor(Date.now() / 1000), 600)}`,
        })
      ).status,
    ).toBe(401);
    expect(
      (
        await req('GET', '/dashboard', {
          cookie: `wx_console=${signConsoleSession(KEY, OPERATOR, Math.floor(Date.now() / 1000) - 1200, 600)}`,
        })
      ).status,
    ).toBe(401);
    const body = { openid: OPERATOR, delta: 1, reason: 'x test', request_id: 'csrf-api-00001' };
    expect(await req('POST', '/users/adjust', { body, csrf: null })).toMatchObject({ status: 403, body: { detail: 'CSRF 校验失败' } });
    // Another session's token does not fit this one.
    expect(await req('POST', '/users/adjust', { body, csrf: csrfTokenFor(KEY, 'another.session.token') })).toMatchObject({ status: 403 });
    const r = await req('GET', '/dashboard');
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('dashboard: rows fall into Asia/Shanghai days at the boundary; revenue is paid minus refunded', async () => {
    const today = shanghaiDay(shanghaiDate(new Date()));
    const justBefore = new Date(today.start.getTime() - 60_000); // 23:59 yesterday in Beijing
    const justAfter = new Date(today.start.getTime() + 60_000); // 00:01 today
    const base = await req('GET', '/dashboard?days=2');
    const openid = uid('oDash');
    const insert = async (orderNo: string, fen: number, paidAt: Date) => {
      await q(
        `INSERT INTO payment_orders (order_no, openid, order_type, amount, amount_fen, credits_amount, status, pay_version, created_at, paid_at)
         VALUES (?, ?, 'credits', ?, ?, 10, 'paid', 'v2', ?, ?)`,
        [orderNo, openid, (fen / 100).toFixed(2), fen, at(paidAt), at(paidAt)],
      );
      await q(
        'INSERT INTO payment_records (order_no, openid, transaction_id, amount, payment_time, created_at) VALUES (?, ?, ?, ?, ?, ?)',
        [orderNo, openid, uid('4200'), (fen / 100).toFixed(2), at(paidAt), at(paidAt)],
      );
    };
    await insert(uid('ORDY'), 1000, justBefore);
    await insert(uid('ORDT'), 2500, justAfter);
    const refunded = uid('ORDT');
    await insert(refunded, 990, justAfter);
    await q(
      `INSERT INTO payment_refunds (refund_no, request_id, order_no, openid, amount_fen, total_fen, status, pay_version, created_at, completed_at)
       VALUES (?, ?, ?, ?, 300, 990, 'success', 'v2', ?, ?)`,
      [uid('RF'), uid('req'), refunded, openid, at(justAfter), at(justAfter)],
    );
    const r = await req('GET', '/dashboard?days=2');
    expect(r.body.days).toEqual([shanghaiDate(new Date(), -1), shanghaiDate(new Date())]);
    const delta = (name: string) => (r.body.series[name] as number[]).map((v, i) => v - base.body.series[name][i]);
    expect(delta('paid_fen')).toEqual([1000, 3490]);
    expect(delta('refunded_fen')).toEqual([0, 300]);
    expect(delta('revenue_fen')).toEqual([1000, 3190]);
    expect(delta('orders_paid')).toEqual([1, 2]);
  });

  it('anomalies: list open ones, resolve once with a note (audited with before/after), 409 the second time', async () => {
    const orderNo = uid('ORDA');
    await q("INSERT INTO payment_anomalies (order_no, kind, detail, created_at) VALUES (?, 'refund_shortfall', 'seeded', ?)", [
      orderNo,
      at(new Date()),
    ]);
    const list = await req('GET', `/anomalies?status=open&kind=refund_shortfall&order_no=${orderNo}`);
    expect(list.body.anomalies).toEqual([expect.objectContaining({ order_no: orderNo, kind: 'refund_shortfall', resolved_at: null })]);
    const id = list.body.anomalies[0].id;
    expect((await req('POST', `/anomalies/${id}/resolve`, { body: { note: '' } })).status).toBe(400);
    const done = await req('POST', `/anomalies/${id}/resolve`, { body: { note: '已人工补偿' } });
    expect(done.body.anomaly).toMatchObject({ id, resolved_by: OPERATOR, resolution_note: '已人工补偿', resolved_at: expect.any(String) });
    expect((await req('POST', `/anomalies/${id}/resolve`, { body: { note: 'again' } })).status).toBe(409);
    expect((await req('GET', `/anomalies?status=open&order_no=${orderNo}`)).body.anomalies).toEqual([]);
    const audit = await q(
      'SELECT action, operator_openid, target, before_json, after_json FROM console_audit WHERE target = ? ORDER BY id',
      [`anomaly:${id}`],
    );
    expect(audit.map((a) => a.action)).toEqual(['resolve_anomaly', 'resolve_anomaly_refused']);
    expect(JSON.parse(String(audit[0].before_json))).toMatchObject({ resolved_at: null });
    expect(JSON.parse(String(audit[0].after_json))).toMatchObject({ resolution_note: '已人工补偿' });
  });

  it('jobs and reconciliation: last runs are recorded; a date can be re-run from the console (audited)', async () => {
    expect((await req('GET', '/jobs')).body.jobs).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'order_expiry' })]));
    await t.app.get(OrderExpiryJob).runOnce();
    const yesterday = shanghaiDate(new Date(), -1);
    await t.app.get(ReconciliationJob).runFor(yesterday);
    const jobs = (await req('GET', '/jobs')).body.jobs as Json[];
    expect(jobs.find((j) => j.name === 'order_expiry')).toMatchObject({
      outcome: 'ok',
      detail: '0 expired orders closed',
      finished_at: expect.any(String),
    });
    // The dashboard test's order paid at 23:59 yesterday is not in the sandbox's bill: one difference (per database).
    const job = jobs.find((j) => j.name === 'reconciliation')!;
    expect(job).toMatchObject({ outcome: 'ok', detail: expect.stringMatching(new RegExp(`^${yesterday}: \\d+ differences, 0 matched$`)) });
    const n = Number(/: (\d+) differences/.exec(String(job.detail))![1]);
    expect(jobs.find((j) => j.name === 'refund_sync')).toMatchObject({ outcome: 'never' });
    expect((await req('GET', '/reconciliation')).body.runs).toEqual([
      expect.objectContaining({ bill_date: yesterday, status: 'done', differences: n }),
    ]);
    const recorded = (await req('GET', `/reconciliation/${yesterday}`)).body.differences as Json[];
    expect(recorded).toHaveLength(n);
    expect(recorded.every((d) => String(d.kind).startsWith('bill_'))).toBe(true);
    const rerun = await req('POST', `/reconciliation/${yesterday}/run`);
    expect(rerun.body).toMatchObject({ success: true, date: yesterday });
    expect(rerun.body.differences).toHaveLength(n);
    expect(await q('SELECT action FROM console_audit WHERE target = ?', [`reconciliation:${yesterday}`])).toEqual([
      { action: 'reconcile' },
    ]);
    expect((await req('POST', '/reconciliation/2020-13-45/run')).status).toBe(400);
  });

  it('user actions: adjust applies once per request_id; unbind frees a desktop; a refused refund is audited; logout clears the cookie', async () => {
    const openid = uid('oUser');
    await t.app.get(InternalApi).createOrUpdateUser({ openid, source: 'subscribe' });
    const adjust = { openid, delta: 5, reason: '补偿测试', request_id: uid('adj-req-') };
    expect((await req('POST', '/users/adjust', { body: adjust })).body).toEqual({ success: true, applied: true, remaining_credits: 15 });
    expect((await req('POST', '/users/adjust', { body: adjust })).body).toEqual({ success: true, applied: false, remaining_credits: 15 });
    expect((await req('POST', '/users/adjust', { body: { ...adjust, reason: ' ', request_id: uid('adj-req-') } })).status).toBe(400);
    expect((await req('POST', '/users/adjust', { body: { ...adjust, delta: -100, request_id: uid('adj-req-') } })).status).toBe(400);
    expect(await q("SELECT COUNT(*) AS n FROM credit_ledger WHERE openid = ? AND reason = 'admin_adjust'", [openid])).toEqual([{ n: 1 }]);

    const clientId = uid('PC_console_');
    const scene = uid('bind_console');
    await q(
      'INSERT INTO wechat_qr_scenes (scene_str, client_id, ticket, qrcode_content, expire_at, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      [scene, clientId, uid('ticket'), 'http://weixin.qq.com/q/x', at(new Date(Date.now() + 600_000)), at(new Date())],
    );
    await t.app.get(InternalApi).updateBinding({ scene, openid, event: 'scan' });
    const user = (await req('GET', `/users?client_id=${clientId}`)).body;
    expect(user.bindings).toEqual([expect.objectContaining({ client_id: clientId, status: 'completed' })]);
    expect((await req('POST', '/users/unbind', { body: { openid, binding_id: user.bindings[0].id } })).body).toEqual({ success: true });
    expect((await t.app.get(InternalApi).resolveClient(clientId)).openid).toBeNull();
    expect((await req('POST', '/users/unbind', { body: { openid, binding_id: user.bindings[0].id } })).status).toBe(404);

    const pending = uid('ORDP');
    await q(
      "INSERT INTO payment_orders (order_no, openid, order_type, amount, amount_fen, credits_amount, status, pay_version, created_at) VALUES (?, ?, 'credits', '9.90', 990, 10, 'pending', 'v2', ?)",
      [pending, openid, at(new Date())],
    );
    expect(await req('POST', `/orders/${pending}/refund`, { body: { note: '测试退款', request_id: uid('rf-req-') } })).toMatchObject({
      status: 409,
      body: { detail: '订单未支付，不能退款' },
    });
    expect((await req('GET', `/orders/${pending}/refund-preview`)).body).toMatchObject({ refundable_fen: 0, credits_due: 0 });
    const actions = (await req('GET', `/audit?target=user:${openid}`)).body.entries.map((e: Json) => e.action);
    // Invalid input (the blank reason) is a 400 before any action: only the refused action itself is audited.
    expect(actions).toEqual(['unbind_refused', 'unbind', 'adjust_refused', 'adjust', 'adjust']);
    expect(await q('SELECT action FROM console_audit WHERE target = ?', [`order:${pending}`])).toEqual([{ action: 'refund_refused' }]);

    const out = await req('POST', '/logout');
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toBe('wx_console=; Path=/api/v1/console; Max-Age=0; HttpOnly; SameSite=Strict');
  });

  it('menu: shows the live and the configured menu; publishing is audited with the menu before and after', async () => {
    const m = await req('GET', '/menu');
    expect(m.body.configured.button[1].sub_button).toHaveLength(3);
    const published = await req('POST', '/menu/publish');
    expect(published.body).toMatchObject({ success: true, menu_structure: m.body.configured });
    expect((await req('GET', '/menu')).body.live).toMatchObject({ menu: { button: expect.any(Array) } });
    const [audit] = await q("SELECT operator_openid, after_json FROM console_audit WHERE action = 'menu_publish'");
    expect(audit.operator_openid).toBe(OPERATOR);
    expect(JSON.parse(String(audit.after_json))).toEqual(m.body.configured);
  });
});

describe('console API: switched off and rate limited [sqlite]', () => {
  let db: TestDatabase;
  let off: TestApp;

  afterAll(async () => {
    await off?.close();
    await db?.drop();
  });

  it('with no ADMIN_OPENIDS the console is off (403), whatever cookie is sent; login codes are limited to 10 a minute per IP', async () => {
    db = await TestDatabase.create('sqlite');
    off = await startApp({ ...db.env, WECHAT_SANDBOX: 'true', RATE_LIMIT_PER_MINUTE: '100000' });
    const token = signConsoleSession(KEY, OPERATOR, Math.floor(Date.now() / 1000), 600);
    expect((await fetch(`${off.url}/api/v1/console/login/qr`, { method: 'POST' })).status).toBe(403);
    expect((await fetch(`${off.url}/api/v1/console/dashboard`, { headers: { cookie: `wx_console=${token}` } })).status).toBe(403);
    expect(await off.app.get(DatabaseService).dataSource.query('SELECT COUNT(*) AS n FROM console_login_scenes')).toEqual([{ n: 0 }]);
    await off.close();

    off = await startApp({ ...db.env, WECHAT_SANDBOX: 'true', RATE_LIMIT_PER_MINUTE: '100000', ADMIN_OPENIDS: OPERATOR });
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await fetch(`${off.url}/api/v1/console/login/qr`, { method: 'POST' })).status);
    expect(statuses).toEqual([...Array(10).fill(200), 429]);
  });
});
