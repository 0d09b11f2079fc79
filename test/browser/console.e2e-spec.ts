import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { signSessionToken } from '../../src/common/session-token';
import { consoleKey, signConsoleSession } from '../../src/console/console-session';
import { RefundRequestService } from '../../src/payment/refunds/refund-request.service';
import { shanghaiDate, shanghaiDay } from '../../src/common/time-format';
import { CreditsService } from '../../src/user/credits.service';
import { call, login } from '../support/api-client';
import { expectInvariants } from '../setup/invariants';
import { eventually, startApp, TEST_SESSION_SECRET, TestApp, TestDatabase } from '../setup/test-app';
import { launchChromium, MOBILE_VIEWPORT, newOpenid, PagesHarness, SCREENSHOT_DIR } from './browser-harness';

/**
 * The operator console in a real browser (docs/operator-guide.md): Debian's Chromium against the app
 * in sandbox mode. Operators log in by having the sandbox "scan" the login page's QR code, exactly
 * as WeChat would push the scan; payments, refunds and follows go through the sandbox too.
 */

const DESKTOP_VIEWPORT = { width: 1280, height: 900 };
const OPERATOR = newOpenid('oOperator_');

describe('operator console [sqlite]', () => {
  let db: TestDatabase;
  let t: TestApp;
  let browser: Browser;
  let h: PagesHarness;
  const contexts: BrowserContext[] = [];
  const errors: string[] = [];
  let browsers = 0;

  beforeAll(async () => {
    db = await TestDatabase.create('sqlite');
    [t, browser] = await Promise.all([
      // Login codes are limited to 10 a minute per IP: each browser here comes from its own address (via the trusted proxy header).
      startApp({
        ...db.env,
        WECHAT_SANDBOX: 'true',
        RATE_LIMIT_PER_MINUTE: '100000',
        TRUST_PROXY: 'loopback',
        ADMIN_OPENIDS: `oSomeoneElse, ${OPERATOR}`,
      }),
      launchChromium(),
    ]);
    h = new PagesHarness(t, browser);
  });

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close().catch(() => undefined)));
    await h.closeAll();
    expect(errors.splice(0)).toEqual([]);
    await expectInvariants((sql) => h.query(sql));
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await db?.drop();
  });

  /** A fresh browser (phone by default): page errors and dialogs are failures. */
  async function newPage(viewport = MOBILE_VIEWPORT): Promise<Page> {
    const context = await browser.newContext({
      viewport,
      deviceScaleFactor: 1,
      locale: 'zh-CN',
      timezoneId: 'America/Los_Angeles',
      isMobile: viewport === MOBILE_VIEWPORT,
      hasTouch: viewport === MOBILE_VIEWPORT,
      extraHTTPHeaders: { 'X-Forwarded-For': `198.51.100.${++browsers}` },
    });
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      // A CSP violation is reported on the console: none may happen.
      if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) errors.push(m.text());
    });
    page.on('dialog', (d) => {
      errors.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    return page;
  }

  /** /admin/ → login page → its QR scanned by `openid` in the sandbox (a WeChat push). */
  async function scanLogin(page: Page, openid: string): Promise<void> {
    await page.goto(`${t.url}/admin/`);
    await page.waitForURL(`${t.url}/admin/index.html`);
    // The code is WeChat's showqrcode image; the sandbox answers that URL with its own page, linked instead.
    const link = page.locator('#login-qr-link');
    await link.waitFor({ state: 'visible' });
    const src = new URL((await link.getAttribute('href'))!, t.url);
    expect(src.pathname).toBe('/sandbox/mp/cgi-bin/showqrcode');
    const ticket = src.searchParams.get('ticket');
    expect(ticket).toBeTruthy();
    await h.sandbox('/actions/scan', { openid, ticket });
  }

  async function loggedIn(viewport = MOBILE_VIEWPORT): Promise<Page> {
    const page = await newPage(viewport);
    await scanLogin(page, OPERATOR);
    await page.waitForURL(/\/admin\/console\.html/);
    return page;
  }

  async function dashboardReady(page: Page): Promise<void> {
    await page.locator('body[data-dashboard="ready"]').waitFor({ state: 'attached' });
  }

  async function screenshot(page: Page, name: string): Promise<void> {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), animations: 'disabled', caret: 'hide', fullPage: false });
  }

  /** A follower who bought `credits` through create-order and the sandbox pay sheet: paid once notified. */
  async function buyer(credits: number): Promise<{ openid: string; orderNo: string; token: string }> {
    const openid = newOpenid('oBuyer_');
    await h.sandbox('/actions/subscribe', { openid });
    const token = await login(t, openid);
    const r = await call(t, 'POST', '/api/v1/payment/create-order', { token, body: { order_type: 'credits', credits_amount: credits } });
    expect(r.status).toBe(200);
    await h.sandbox('/actions/pay', {
      prepay_id: String(r.body.payment_params.package).replace('prepay_id=', ''),
      result: 'success',
      notify: 'now',
    });
    await eventually(async () => (await h.orderStatus(r.body.order_no)) === 'paid');
    return { openid, orderNo: r.body.order_no, token };
  }

  const balance = async (openid: string) =>
    Number((await h.query('SELECT remaining_credits AS r FROM wechat_users WHERE openid = ?', [openid]))[0].r);

  it('login: the listed operator scans the QR and gets the console; the login is audited and the code is single use', async () => {
    const page = await newPage();
    await scanLogin(page, OPERATOR);
    await page.waitForURL(/\/admin\/console\.html/);
    await dashboardReady(page);
    const [cookie] = (await page.context().cookies(`${t.url}/api/v1/console/session`)).filter((c) => c.name === 'wx_console');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/api/v1/console' });
    expect(cookie.expires - Date.now() / 1000).toBeLessThanOrEqual(30 * 60 + 5);
    expect(await h.query("SELECT action FROM console_audit WHERE operator_openid = ? AND action = 'login'", [OPERATOR])).toHaveLength(1);
    // The scene is a console scene, never a desktop binding, and it is spent.
    const scenes = await h.query('SELECT scene_str, status FROM console_login_scenes');
    expect(scenes).toEqual([{ scene_str: expect.stringMatching(/^console_/), status: 'used' }]);
    expect(await h.query("SELECT COUNT(*) AS n FROM wechat_qr_scenes WHERE scene_str LIKE 'console_%'")).toEqual([{ n: 0 }]);

    // Answers are no-store and the pages carry the CSP.
    const session = await page.context().request.get(`${t.url}/api/v1/console/session`);
    expect(session.headers()['cache-control']).toBe('no-store');
    const html = await page.context().request.get(`${t.url}/admin/console.html`);
    expect(html.headers()['content-security-policy']).toContain("script-src 'self'");
    expect(html.headers()['content-security-policy']).not.toContain('unsafe-inline');
    expect(html.headers()['cache-control']).toBe('no-store');
  });

  it('login: an openid not in ADMIN_OPENIDS is refused, gets no session, and the attempt is audited', async () => {
    const stranger = newOpenid('oStranger_');
    const page = await newPage();
    await scanLogin(page, stranger);
    await page.locator('#login-status[data-state="refused"]').waitFor({ state: 'visible' });
    expect(await page.locator('#login-status').textContent()).toContain('没有运营后台权限');
    expect((await page.context().cookies()).map((c) => c.name)).not.toContain('wx_console');
    expect(await h.query('SELECT action, target FROM console_audit WHERE operator_openid = ?', [stranger])).toEqual([
      { action: 'login_refused', target: null },
    ]);
    // Nothing opens for it.
    const dash = await page.context().request.get(`${t.url}/api/v1/console/dashboard`);
    expect(dash.status()).toBe(401);
    expect(page.url()).toBe(`${t.url}/admin/index.html`);
  });

  it('dashboard: after a scripted day the numbers equal what the database says', async () => {
    // The day: two buyers pay (one is refunded in part), a plain follower, a desktop bound, credits spent.
    const a = await buyer(20);
    const b = await buyer(10);
    await h.sandbox('/actions/subscribe', { openid: newOpenid('oFollower_') });
    const qr = await call(t, 'POST', '/api/v1/auth/wechat/qrcode', { body: { client_id: 'PC_console_dash_1' } });
    await h.sandbox('/actions/scan', { openid: b.openid, ticket: qr.body.ticket });
    await t.app.get(CreditsService).consume({ openid: a.openid, taskId: 'dash-task-1', taskType: 'image_edit', amount: 3 });
    await t.app
      .get(RefundRequestService)
      .requestRefund({ orderNo: a.orderNo, amountFen: 600, note: 'dashboard test', requestId: 'dash-refund-1' });
    await eventually(
      async () => (await h.query("SELECT status FROM payment_refunds WHERE request_id = 'dash-refund-1'"))[0]?.status === 'success',
    );

    const page = await loggedIn();
    await dashboardReady(page);

    // What the database says, by its own SQL over today's Asia/Shanghai day and the last 30 days.
    const today = shanghaiDay(shanghaiDate(new Date()));
    const from30 = shanghaiDay(shanghaiDate(new Date(), -29)).start;
    const iso = (d: Date) => d.toISOString().replace('T', ' ').replace('Z', '');
    const one = async (sql: string, from = today.start) =>
      Number(Object.values((await h.query(sql, [iso(from), iso(today.end)]))[0])[0] ?? 0);
    const paid = (from?: Date) =>
      one(
        "SELECT COALESCE(SUM(amount_fen), 0) FROM payment_orders WHERE status IN ('paid','refunded') AND paid_at >= ? AND paid_at < ?",
        from,
      );
    const refunded = (from?: Date) =>
      one(
        "SELECT COALESCE(SUM(amount_fen), 0) FROM payment_refunds WHERE status = 'success' AND completed_at >= ? AND completed_at < ?",
        from,
      );
    const revenueToday = (await paid()) - (await refunded());
    const revenue30 = (await paid(from30)) - (await refunded(from30));
    const ordersPaid = await one(
      "SELECT COUNT(*) FROM payment_orders WHERE status IN ('paid','refunded') AND paid_at >= ? AND paid_at < ?",
    );
    const ordersFailed = await one("SELECT COUNT(*) FROM payment_orders WHERE status = 'failed' AND created_at >= ? AND created_at < ?");
    const ordersClosed = await one(
      "SELECT COUNT(*) FROM payment_orders WHERE status = 'closed' AND COALESCE(closed_at, created_at) >= ? AND COALESCE(closed_at, created_at) < ?",
    );
    const followers = await one('SELECT COUNT(*) FROM wechat_users WHERE subscribed = 1 AND subscribe_time >= ? AND subscribe_time < ?');
    const bindings = await one(
      "SELECT COUNT(*) FROM wechat_qrcode_bindings WHERE status = 'completed' AND completed_at >= ? AND completed_at < ?",
    );
    const sold = await one(
      "SELECT COALESCE(SUM(delta), 0) FROM credit_ledger WHERE reason = 'purchase' AND created_at >= ? AND created_at < ?",
    );
    const consumed = await one(
      "SELECT COALESCE(-SUM(delta), 0) FROM credit_ledger WHERE reason IN ('consume','refund') AND created_at >= ? AND created_at < ?",
    );
    const openAnomalies = Number((await h.query('SELECT COUNT(*) AS n FROM payment_anomalies WHERE resolved_at IS NULL'))[0].n);

    // The scripted day is in there (¥18.00 + ¥9.90 − ¥6.00; 20 + 10 credits sold; 3 spent; one binding).
    expect(revenueToday).toBeGreaterThanOrEqual(1800 + 990 - 600);
    expect([sold >= 30, consumed >= 3, bindings >= 1, followers >= 3]).toEqual([true, true, true, true]);

    const text = (id: string) => page.locator(`#${id}`).textContent();
    const yuan = (fen: number) => `¥${(fen / 100).toFixed(2)}`;
    expect(await text('kpi-revenue-today')).toBe(yuan(revenueToday));
    expect(await text('kpi-revenue-range')).toBe(yuan(revenue30));
    expect(await text('kpi-orders-today')).toBe(`${ordersPaid} / ${ordersFailed} / ${ordersClosed}`);
    expect(await text('kpi-followers-today')).toBe(String(followers));
    expect(await text('kpi-bindings-today')).toBe(String(bindings));
    expect(await text('kpi-credits-today')).toBe(`${sold} / ${consumed}`);
    expect(await text('kpi-anomalies')).toBe(String(openAnomalies));
    // Charts: 30 days, drawn by the console's own chart script; today's revenue bar says the same.
    expect(await page.locator('#chart-revenue rect.chart-bar').count()).toBe(30);
    expect(await page.locator('#chart-orders rect.chart-bar').count()).toBe(90);
    expect(await page.locator('#chart-revenue rect.chart-bar title').last().textContent()).toBe(
      `${shanghaiDate(new Date())} 收入: ${(revenueToday / 100).toFixed(0)}`,
    );
    await screenshot(page, 'console-dashboard');

    const desktop = await loggedIn(DESKTOP_VIEWPORT);
    await dashboardReady(desktop);
    await screenshot(desktop, 'console-dashboard-desktop');
  });

  it("user view: lookup → adjust (reason required, audited) → the member's own page shows the new balance", async () => {
    const member = await buyer(10);
    const before = await balance(member.openid);
    const page = await loggedIn();
    await page.goto(`${t.url}/admin/console.html#user`);
    await page.locator('#user-by').selectOption('order_no');
    await page.locator('#user-q').fill(member.orderNo);
    await page.locator('#user-search button[type="submit"]').click();
    await page.locator('#user-result').waitFor({ state: 'visible' });
    expect(await page.locator('#user-openid').textContent()).toBe(member.openid);
    expect(await page.locator('#user-balance').textContent()).toBe(String(before));
    expect(await page.locator(`#user-orders li[data-order="${member.orderNo}"] .tag`).textContent()).toBe('paid');

    await page.locator('#adjust-delta').fill('7');
    await page.locator('#adjust-reason').fill('补偿：支付后未到账');
    await page.locator('#adjust-form button[type="submit"]').click();
    await page.locator('#user-balance', { hasText: new RegExp(`^${before + 7}$`) }).waitFor();
    expect(await balance(member.openid)).toBe(before + 7);
    const [entry] = await h.query(
      "SELECT operator_openid, request_id, target, before_json, after_json FROM console_audit WHERE action = 'adjust'",
    );
    expect(entry).toMatchObject({
      operator_openid: OPERATOR,
      target: `user:${member.openid}`,
      request_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(JSON.parse(String(entry.before_json))).toMatchObject({ remaining_credits: before, delta: 7 });
    expect(JSON.parse(String(entry.after_json))).toEqual({ remaining_credits: before + 7, applied: true });
    expect(await page.locator('#user-audit li', { hasText: 'adjust' }).count()).toBe(1);
    await screenshot(page, 'console-user');

    // The member's own page, arriving through the menu's OAuth.
    const memberPage = await h.newPage();
    await h.arrive(memberPage, 'credits_info', member.openid);
    expect(await memberPage.locator('#stat-remaining').textContent()).toBe(String(before + 7));

    const desktop = await loggedIn(DESKTOP_VIEWPORT);
    await desktop.goto(`${t.url}/admin/console.html#user?openid=${member.openid}`);
    await desktop.locator('#user-result').waitFor({ state: 'visible' });
    await screenshot(desktop, 'console-user-desktop');
  });

  it('partial refund: the dialog shows the credits to be taken back; once WeChat Pay confirms they are taken back', async () => {
    const member = await buyer(20); // ¥18.00 for 20 credits
    const page = await loggedIn();
    await page.goto(`${t.url}/admin/console.html#user?openid=${member.openid}`);
    await page.locator(`#user-orders li[data-order="${member.orderNo}"] .refund-open`).click();
    await page.locator('#refund-dialog').waitFor({ state: 'visible' });
    expect(await page.locator('#refund-refundable').textContent()).toBe('¥18.00');
    await page.locator('#refund-amount').fill('9.00');
    // Half the money back: ceil(20 × 900 / 1800) = 10 credits.
    await page.locator('#refund-preview[data-credits="10"]').waitFor();
    expect(await page.locator('#refund-preview').textContent()).toContain('扣回 10 额度');
    await page.locator('#refund-note').fill('用户申请部分退款');
    await screenshot(page, 'console-refund');
    const before = await balance(member.openid);
    await page.locator('#refund-confirm').click();
    await page.locator('#refund-dialog').waitFor({ state: 'hidden' });

    await eventually(
      async () => (await h.query('SELECT status FROM payment_refunds WHERE order_no = ?', [member.orderNo]))[0]?.status === 'success',
    );
    expect(await balance(member.openid)).toBe(before - 10);
    expect(await h.query("SELECT delta FROM credit_ledger WHERE openid = ? AND reason = 'payment_refund'", [member.openid])).toEqual([
      { delta: -10 },
    ]);
    expect(await h.orderStatus(member.orderNo)).toBe('paid'); // half refunded: still paid
    const [audit] = await h.query("SELECT operator_openid, after_json FROM console_audit WHERE action = 'refund' AND target = ?", [
      `order:${member.orderNo}`,
    ]);
    expect(audit.operator_openid).toBe(OPERATOR);
    expect(JSON.parse(String(audit.after_json))).toMatchObject({ amount_fen: 900, created: true });
    // The user view shows it.
    await page.reload();
    await page.locator(`#user-orders li[data-order="${member.orderNo}"] .refund-line[data-refund-status="success"]`).waitFor();
    expect(await page.locator(`#user-orders li[data-order="${member.orderNo}"] .refund-line`).textContent()).toContain('扣回 10 额度');

    const desktop = await loggedIn(DESKTOP_VIEWPORT);
    const other = await buyer(10);
    await desktop.goto(`${t.url}/admin/console.html#user?openid=${other.openid}`);
    await desktop.locator(`#user-orders li[data-order="${other.orderNo}"] .refund-open`).click();
    await desktop.locator('#refund-preview[data-credits="10"]').waitFor();
    await screenshot(desktop, 'console-refund-desktop');
  });

  it('a state-changing call without the CSRF token is refused and changes nothing', async () => {
    const member = await buyer(10);
    const before = await balance(member.openid);
    const page = await loggedIn();
    await dashboardReady(page);
    const attempt = (headers: Record<string, string>) =>
      page.evaluate(
        async ([openid, extra]) => {
          const res = await fetch('/api/v1/console/users/adjust', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', ...extra },
            body: JSON.stringify({ openid, delta: 100, reason: 'csrf test', request_id: 'csrf-test-000001' }),
          });
          return { status: res.status, body: await res.json() };
        },
        [member.openid, headers] as const,
      );
    expect(await attempt({})).toEqual({ status: 403, body: { detail: 'CSRF 校验失败' } });
    expect(await attempt({ 'X-CSRF-Token': 'forged' })).toEqual({ status: 403, body: { detail: 'CSRF 校验失败' } });
    expect(await balance(member.openid)).toBe(before);
    expect(await h.query('SELECT COUNT(*) AS n FROM console_audit WHERE target = ?', [`user:${member.openid}`])).toEqual([{ n: 0 }]);
    // The page's own token works (the same request, with it).
    const csrf = (await (await page.context().request.get(`${t.url}/api/v1/console/session`)).json()).csrf_token as string;
    expect((await attempt({ 'X-CSRF-Token': csrf })).status).toBe(200);
    expect(await balance(member.openid)).toBe(before + 100);
  });

  it('a member token never opens the console, and the console cookie never acts as a member', async () => {
    const member = await buyer(10);
    const paths = ['/api/v1/console/session', '/api/v1/console/dashboard', `/api/v1/console/users?openid=${member.openid}`];
    // The member's Bearer token, even of an operator's own openid.
    const operatorMemberToken = signSessionToken(TEST_SESSION_SECRET, OPERATOR, Math.floor(Date.now() / 1000), 3600);
    for (const path of paths) {
      for (const token of [member.token, operatorMemberToken]) {
        expect((await fetch(t.url + path, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
        expect((await fetch(t.url + path, { headers: { cookie: `wx_console=${token}` } })).status).toBe(401);
      }
    }
    // A browser with only a member session sees the login page, not the console.
    const memberPage = await h.newPage();
    await h.arrive(memberPage, 'credits_info', member.openid);
    await memberPage.goto(`${t.url}/admin/console.html`);
    await memberPage.waitForURL(`${t.url}/admin/index.html`);

    // The console cookie (of a real login) on the member routes: as a cookie or as a Bearer token.
    const page = await loggedIn();
    const [cookie] = (await page.context().cookies(`${t.url}/api/v1/console/session`)).filter((c) => c.name === 'wx_console');
    expect(cookie.value).toBeTruthy();
    for (const path of ['/api/v1/user/credits', '/api/v1/user/credits-ledger', '/api/v1/user/devices']) {
      expect((await fetch(t.url + path, { headers: { cookie: `wx_console=${cookie.value}` } })).status).toBe(401);
      expect((await fetch(t.url + path, { headers: { authorization: `Bearer ${cookie.value}` } })).status).toBe(401);
    }
    // Signed with the member key it would have worked: the keys differ, that is what refuses it.
    expect(consoleKey(TEST_SESSION_SECRET)).not.toBe(TEST_SESSION_SECRET);
    const forged = signConsoleSession(TEST_SESSION_SECRET, member.openid, Math.floor(Date.now() / 1000), 600);
    expect((await fetch(t.url + '/api/v1/user/credits', { headers: { authorization: `Bearer ${forged}` } })).status).toBe(200);
  });
});
