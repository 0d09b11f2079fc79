import type { Browser, Page } from 'playwright-core';
import { signSessionToken } from '../../src/common/session-token';
import { DatabaseService } from '../../src/database/database.service';
import { CreditsService } from '../../src/user/credits.service';
import { WechatUser } from '../../src/user/entities/wechat-user.entity';
import { expectInvariants } from '../setup/invariants';
import { eventually, startApp, TEST_SESSION_SECRET, TestApp, TestDatabase } from '../setup/test-app';
import { EXPIRED_TEXT, launchChromium, newOpenid, PagesHarness, shownTime, texts, yuan } from './browser-harness';

/**
 * The three member pages in a real browser (docs/pages.md "Tested in a real browser"): Debian's Chromium
 * against the app in sandbox mode, arriving through the menu's OAuth, paying through the sandbox's
 * WeixinJSBridge pay sheet. A payment counts only once the server says `paid`: the tests hold
 * WeChat Pay's order query down to keep the page in "支付确认中…" and release it themselves.
 */

const LEDGER_REASON: Record<string, string> = {
  opening_balance: '期初余额',
  signup_bonus: '新用户赠送',
  purchase: '购买额度',
  member_bonus: '会员赠送',
  consume: '消费',
  refund: '退还',
  admin_adjust: '人工调整',
  payment_refund: '退款扣回',
};
const ORDER_STATUS: Record<string, string> = {
  pending: '待支付',
  paid: '已支付',
  failed: '支付失败',
  closed: '已关闭',
  refunded: '已退款',
};

describe('pages [sqlite]', () => {
  let db: TestDatabase;
  let t: TestApp;
  let browser: Browser;
  let h: PagesHarness;

  beforeAll(async () => {
    db = await TestDatabase.create('sqlite');
    // Many page loads and 1.5 s polls from one loopback IP: lift the per-IP limit for the suite.
    [t, browser] = await Promise.all([startApp({ ...db.env, WECHAT_SANDBOX: 'true', RATE_LIMIT_PER_MINUTE: '100000' }), launchChromium()]);
    h = new PagesHarness(t, browser);
  });

  afterEach(async () => {
    // Pages must never throw, and no injected script may ever have run (an alert is a dialog).
    const leaks: Array<{ errors: string[]; dialogs: string[] }> = [];
    for (const page of browser.contexts().flatMap((c) => c.pages())) {
      const watched = h.watch(page);
      if (watched) leaks.push(watched);
    }
    await h.closeAll();
    await h.sandbox('/faults', { pay: null, notify: null });
    for (const w of leaks) expect(w).toEqual({ errors: [], dialogs: [] });
    await expectInvariants((sql) => h.query(sql));
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await db?.drop();
  });

  const consume = (openid: string, taskType: string, taskId: string, amount: number, requested: number, succeeded: number) =>
    t.app.get(CreditsService).consume({ openid, taskId, taskType, amount, requestImageCount: requested, successImageCount: succeeded });

  /** Keeps the page in "支付确认中…": the app cannot ask WeChat Pay, and no notification comes (yet). */
  const holdConfirmation = () => h.sandbox('/faults', { pay: 'down' });

  /** Waits for the pay status line in `state` showing exactly `text` (one atomic wait: success navigates away soon). */
  async function expectStatus(page: Page, state: string, text: string): Promise<void> {
    const exact = new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
    await page.locator(`#pay-status[data-state="${state}"]`, { hasText: exact }).waitFor({ state: 'visible' });
  }

  /** Every answer the page got when polling the order: the statuses it saw, in order. */
  function trackPolls(page: Page, orderNo: string): string[] {
    const seen: string[] = [];
    page.on('response', (r) => {
      if (!r.url().endsWith(`/api/v1/payment/orders/${orderNo}`)) return;
      r.json().then(
        (b: { order?: { status?: string } }) => seen.push(String(b.order?.status ?? r.status())),
        () => seen.push(String(r.status())),
      );
    });
    return seen;
  }

  async function stats(page: Page) {
    return {
      remaining: await page.locator('#stat-remaining').textContent(),
      used: await page.locator('#stat-used').textContent(),
      total: await page.locator('#stat-total').textContent(),
    };
  }

  it('member.html: arrival through the menu OAuth shows the prices and status of the API', async () => {
    const openid = newOpenid();
    const page = await h.newPage();
    await h.arrive(page, 'member', openid);

    // The code is gone from the address bar; the session is in sessionStorage.
    expect(page.url()).toBe(h.pageUrl('member'));
    const token = (await h.token(page))!;
    expect(token).toBeTruthy();
    expect(await page.evaluate("sessionStorage.getItem('wx_session_openid')")).toBe(openid);

    const prices = (await h.api('/payment/prices', token)).data;
    const credits = await h.api('/user/credits', token);
    expect(credits.is_member).toBe(false);
    expect(await page.locator('#member-title').textContent()).toBe('开通会员');
    expect(await page.locator('#member-subtitle').textContent()).toBe('享受会员专属权益');
    expect(await texts(page.locator('#member-features li'))).toEqual([
      '✓智能分类无限照片数量',
      `✓照片创玩${prices.member_bonus_credits}张照片`,
      '✓一次开通永久会员',
      '✓专属客服支持',
    ]);
    expect(await page.locator('#member-price-amount').textContent()).toBe(yuan(prices.member_price));
    expect(await page.locator('#member-price-amount').textContent()).toBe('¥29.90');
    expect(await page.locator('#member-test-price').isVisible()).toBe(prices.is_test_price);
    const button = page.locator('#member-action');
    expect(await button.textContent()).toBe('立即开通');
    expect(await button.evaluate((el) => (globalThis as any).getComputedStyle(el).backgroundColor)).toBe('rgb(7, 193, 96)');
    await h.screenshot(page, 'member');
  });

  it('member.html: a membership paid in the pay sheet shows success only once the server has it paid, then 我的额度 shows it', async () => {
    const openid = newOpenid();
    const page = await h.newPage();
    await h.arrive(page, 'member', openid);

    const orderNo = await h.openPaySheet(page, page.locator('#member-action'));
    expect(await page.getByTestId('sandbox-pay-amount').textContent()).toBe('¥29.90');
    await holdConfirmation();
    await page.getByTestId('sandbox-pay-notify').selectOption('never');
    const polls = trackPolls(page, orderNo);
    await page.getByTestId('sandbox-pay-confirm').click();

    // WeChat said ok, the server has not confirmed: the page waits and keeps asking.
    await expectStatus(page, 'confirming', '支付确认中…');
    await eventually(() => polls.length >= 2);
    expect(polls.every((s) => s === 'pending')).toBe(true);
    expect(await h.orderStatus(orderNo)).toBe('pending');
    expect(await page.locator('#pay-status').getAttribute('data-state')).toBe('confirming');
    expect(page.url()).toBe(h.pageUrl('member'));

    // WeChat Pay's notification arrives: the next poll sees `paid`, and only then is success shown.
    await h.sandbox('/faults', { pay: null });
    await h.sandbox('/actions/renotify', { out_trade_no: orderNo });
    expect(await h.orderStatus(orderNo)).toBe('paid');
    await expectStatus(page, 'success', '支付成功！正在前往「我的额度」…');
    await eventually(() => polls.includes('paid'));
    expect(polls.indexOf('paid')).toBe(polls.length - 1);
    await page.waitForURL(h.pageUrl('credits_info'));
    await h.loaded(page);

    const token = (await h.token(page))!;
    const credits = await h.api('/user/credits', token);
    expect(credits).toMatchObject({ is_member: true, member_expire_at: null, remaining_credits: 20 });
    expect(await page.locator('#member-badge').textContent()).toBe('终身会员');
    expect(await stats(page)).toEqual({ remaining: '20', used: '0', total: '20' });
    const firstLedger = page.locator('#ledger-list li').first();
    expect(await firstLedger.getAttribute('data-reason')).toBe('member_bonus');
    expect(await firstLedger.locator('.title').textContent()).toBe('会员赠送');
    expect(await firstLedger.locator('.delta').textContent()).toBe('+10');
    expect(await firstLedger.locator('.sub').textContent()).toBe('余额 20');
    const firstOrder = page.locator('#orders-list li').first();
    expect(await texts(firstOrder.locator('.title, .delta, .status-pill'))).toEqual(['开通会员', '¥29.90', '已支付']);

    // Back on the member page: the member view, no second purchase offered.
    await page.goto(h.pageUrl('member'));
    await h.loaded(page);
    expect(await page.locator('#member-title').textContent()).toBe('终身会员');
    expect(await page.locator('#member-subtitle').textContent()).toBe('已激活');
    expect(await page.locator('#member-action').textContent()).toBe('查看额度');
    expect(await page.locator('#member-price').isVisible()).toBe(false);

    // Some use of the credits, then the screenshot of 我的额度 with every section filled.
    await consume(openid, 'classify', 'shot-1', 3, 4, 3);
    await consume(openid, 'classify', 'shot-2', 1, 1, 1);
    await page.locator('#member-action').click();
    await page.waitForURL(h.pageUrl('credits_info'));
    await h.loaded(page);
    expect(await stats(page)).toEqual({ remaining: '16', used: '4', total: '20' });
    await h.screenshot(page, 'credits_info');
  });

  it('a timed membership shows its end date: the legacy "YYYY-MM-DD HH:mm:ss" read as Beijing time, on any phone', async () => {
    const openid = newOpenid();
    const page = await h.newPage();
    await h.arrive(page, 'member', openid);
    await h.t.app
      .get(DatabaseService)
      .dataSource.getRepository(WechatUser)
      .update({ openid }, { isMember: true, memberLifetime: false, memberExpireAt: new Date('2030-01-31T23:59:30+08:00') });

    await page.reload();
    await h.loaded(page);
    const credits = await h.api('/user/credits', (await h.token(page))!);
    expect(credits.member_expire_at).toBe('2030-01-31 23:59:30');
    expect(await page.locator('#member-title').textContent()).toBe('会员有效期至 2030-01-31 23:59');
    expect(await page.locator('#member-subtitle').textContent()).toBe('已激活');
    await page.locator('#member-action').click();
    await page.waitForURL(h.pageUrl('credits_info'));
    await h.loaded(page);
    expect(await page.locator('#member-badge').textContent()).toBe('会员 · 有效期至 2030-01-31 23:59');
  });

  it('member.html: a failed payment shows the reason and nothing is granted', async () => {
    const openid = newOpenid();
    const page = await h.newPage();
    await h.arrive(page, 'member', openid);
    const token = (await h.token(page))!;

    const orderNo = await h.openPaySheet(page, page.locator('#member-action'));
    await page.getByTestId('sandbox-pay-fail').click();
    await expectStatus(page, 'failed', '支付失败');
    expect(await page.locator('#member-action').isEnabled()).toBe(true);

    expect(await h.api('/user/credits', token)).toMatchObject({ is_member: false, remaining_credits: 10 });
    expect(await h.orderStatus(orderNo)).not.toBe('paid');
    expect(page.url()).toBe(h.pageUrl('member'));
  });

  it('credits.html: the packages of the API, first selected; a package bought with a late notification credits balance and ledger', async () => {
    const openid = newOpenid();
    const page = await h.newPage();
    await h.arrive(page, 'credits', openid);
    const token = (await h.token(page))!;
    const prices = (await h.api('/payment/prices', token)).data as { credits_packages: Array<{ credits: number; price: number }> };
    const before = await h.api('/user/credits', token);

    expect(await page.locator('#balance-remaining').textContent()).toBe(String(before.remaining_credits));
    const cards = page.locator('#packages .package');
    expect(await cards.count()).toBe(prices.credits_packages.length);
    for (const [i, p] of prices.credits_packages.entries()) {
      expect(await texts(cards.nth(i).locator('span'))).toEqual([
        `${p.credits}张`,
        yuan(p.price),
        `${yuan(Math.round((p.price * 100) / p.credits) / 100)}/张`,
      ]);
    }
    expect(await texts(cards.first().locator('span'))).toEqual(['10张', '¥9.90', '¥0.99/张']);
    const selected = page.locator('#packages .package.selected');
    expect(await selected.count()).toBe(1);
    expect(await selected.getAttribute('data-credits')).toBe(String(prices.credits_packages[0].credits));
    expect(await selected.evaluate((el) => (globalThis as any).getComputedStyle(el).borderTopColor)).toBe('rgb(255, 107, 107)');
    expect(await page.locator('#buy-button').textContent()).toBe('立即购买 ¥9.90');
    await h.screenshot(page, 'credits');

    // Choose the second package: the selection and the button follow (always two decimals).
    await cards.nth(1).click();
    expect(await page.locator('#packages .package.selected').getAttribute('data-credits')).toBe('20');
    expect(await page.locator('#buy-button').textContent()).toBe('立即购买 ¥18.00');

    const orderNo = await h.openPaySheet(page, page.locator('#buy-button'));
    expect(await page.getByTestId('sandbox-pay-amount').textContent()).toBe('¥18.00');
    await holdConfirmation();
    await page.getByTestId('sandbox-pay-notify').selectOption('late'); // the notification comes 2 s later
    const polls = trackPolls(page, orderNo);
    await page.getByTestId('sandbox-pay-confirm').click();
    await expectStatus(page, 'confirming', '支付确认中…');

    await expectStatus(page, 'success', '支付成功！正在前往「我的额度」…');
    expect(await h.orderStatus(orderNo)).toBe('paid');
    // The page saw the order pending first and declared success on the server's `paid` only.
    await eventually(() => polls.includes('paid'));
    expect(polls[0]).toBe('pending');
    expect(polls.indexOf('paid')).toBe(polls.length - 1);
    await page.waitForURL(h.pageUrl('credits_info'));
    await h.loaded(page);

    expect(await stats(page)).toEqual({ remaining: '30', used: '0', total: '30' });
    const ledger = await h.api('/user/credits-ledger', token);
    expect(ledger.data[0]).toMatchObject({ reason: 'purchase', delta: 20, balance_after: 30, ref: orderNo });
    const firstLedger = page.locator('#ledger-list li').first();
    expect(await texts(firstLedger.locator('.title, .delta, .sub'))).toEqual(['购买额度', '+20', '余额 30']);
    expect(await firstLedger.locator('.meta').textContent()).toBe(`${shownTime(ledger.data[0].created_at)} · ${orderNo}`);
    const firstOrder = page.locator('#orders-list li').first();
    expect(await texts(firstOrder.locator('.title, .delta, .status-pill'))).toEqual(['购买额度 20张', '¥18.00', '已支付']);

    // The links between pages carry nothing: the session follows the tab.
    await page.locator('a[href="credits.html"]').click();
    await page.waitForURL(h.pageUrl('credits'));
    await h.loaded(page);
    expect(await page.locator('#balance-remaining').textContent()).toBe('30');
  });

  it('credits.html: a cancelled payment shows 已取消支付 and charges nothing', async () => {
    const openid = newOpenid();
    const page = await h.newPage();
    await h.arrive(page, 'credits', openid);
    const token = (await h.token(page))!;

    const orderNo = await h.openPaySheet(page, page.locator('#buy-button'));
    await page.getByTestId('sandbox-pay-cancel').click();
    await expectStatus(page, 'cancelled', '已取消支付');
    expect(await page.getByTestId('sandbox-pay-sheet').count()).toBe(0);
    expect(await page.locator('#buy-button').isEnabled()).toBe(true);

    expect(await h.api('/user/credits', token)).toMatchObject({ remaining_credits: 10, total_credits: 10 });
    expect(await h.orderStatus(orderNo)).toBe('pending');
    const ledger = await h.api('/user/credits-ledger', token);
    expect(ledger.data.map((e: { reason: string }) => e.reason)).toEqual(['signup_bonus']);
  });

  it('credits.html: a payment still unconfirmed after 20 s says so — never a failure', async () => {
    const openid = newOpenid();
    const page = await h.newPage();
    await page.clock.install(); // the page's 20 s deadline is fast-forwarded, not waited for
    await h.arrive(page, 'credits', openid);
    const token = (await h.token(page))!;

    const orderNo = await h.openPaySheet(page, page.locator('#buy-button'));
    await holdConfirmation();
    await page.getByTestId('sandbox-pay-notify').selectOption('never');
    const polls = trackPolls(page, orderNo);
    await page.getByTestId('sandbox-pay-confirm').click();
    await expectStatus(page, 'confirming', '支付确认中…');
    await eventually(() => polls.length >= 1);

    await page.clock.fastForward(21_000);
    await expectStatus(page, 'unconfirmed', '支付结果确认中，请稍后在「我的额度」查看');
    expect(await page.locator('.notice-error').count()).toBe(0);
    expect(page.url()).toBe(h.pageUrl('credits'));
    expect(await h.orderStatus(orderNo)).toBe('pending');
    expect(polls.every((s) => s === 'pending')).toBe(true);
    expect((await h.api('/user/credits', token)).remaining_credits).toBe(10);
  });

  it('credits.html: without the WeChat bridge the page says 请在微信中打开 after 3 s and creates no order', async () => {
    const openid = newOpenid();
    const page = await h.newPage();
    // An ordinary browser: env.js still runs, but no WeixinJSBridge ever appears.
    await page.route('**/sandbox/jsbridge.js', (route) => route.fulfill({ status: 200, contentType: 'application/javascript', body: '' }));
    await page.clock.install();
    await h.arrive(page, 'credits', openid);
    const token = (await h.token(page))!;

    await page.locator('#buy-button').click();
    await expectStatus(page, 'preparing', '正在调起支付…');
    await page.clock.fastForward(3_000);
    await expectStatus(page, 'no-bridge', '请在微信中打开');
    expect(await page.locator('#buy-button').isEnabled()).toBe(true);
    expect((await h.api('/payment/orders', token)).orders).toEqual([]);
  });

  it('credits_info.html: stats, 消费记录, 账单明细 and 我的订单 match the API, times in Beijing time on any phone', async () => {
    const openid = newOpenid();
    const page = await h.newPage();
    await h.arrive(page, 'credits_info', openid);
    const token = (await h.token(page))!;

    // A new user: the signup bonus only, empty lists said as such.
    expect(await stats(page)).toEqual({ remaining: '10', used: '0', total: '10' });
    expect(await page.locator('#member-badge').isVisible()).toBe(false);
    expect(await texts(page.locator('#usage-list li'))).toEqual(['暂无消费记录']);
    expect(await texts(page.locator('#orders-list li'))).toEqual(['暂无订单']);
    expect(await texts(page.locator('#ledger-list li .title'))).toEqual(['新用户赠送']);
    expect(await texts(page.locator('#devices-list li'))).toEqual(['暂无绑定的电脑']);

    await consume(openid, 'classify', 'task-a', 3, 4, 3);
    await consume(openid, 'classify', 'task-b', 2, 2, 2);
    const created = await fetch(`${t.url}/api/v1/payment/create-order`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ order_type: 'credits', credits_amount: 50 }),
    });
    expect(created.status).toBe(200);

    await page.reload();
    await h.loaded(page);
    const credits = await h.api('/user/credits', token);
    const usage = (await h.api('/user/credits-usage?limit=20', token)).data as Array<Record<string, any>>;
    const ledger = (await h.api('/user/credits-ledger?limit=20', token)).data as Array<Record<string, any>>;
    const orders = (await h.api('/payment/orders', token)).orders as Array<Record<string, any>>;

    expect(await stats(page)).toEqual({
      remaining: String(credits.remaining_credits),
      used: String(credits.used_credits),
      total: String(credits.total_credits),
    });
    expect(await stats(page)).toEqual({ remaining: '5', used: '5', total: '10' });

    const usageRows = page.locator('#usage-list li');
    expect(await usageRows.count()).toBe(usage.length);
    for (const [i, u] of usage.entries()) {
      const row = usageRows.nth(i);
      expect(await row.locator('.title').textContent()).toBe(`请求${u.request_image_count}张，成功${u.success_image_count}张`);
      expect(await row.locator('.delta').textContent()).toBe(`-${u.credits_used}`);
      expect(await row.locator('.meta').textContent()).toBe(`${shownTime(u.created_at)}${u.task_type}`);
    }
    expect(await texts(usageRows.locator('.title'))).toEqual(['请求2张，成功2张', '请求4张，成功3张']);

    const ledgerRows = page.locator('#ledger-list li');
    expect(await ledgerRows.count()).toBe(ledger.length);
    for (const [i, e] of ledger.entries()) {
      const row = ledgerRows.nth(i);
      expect(await row.locator('.title').textContent()).toBe(LEDGER_REASON[e.reason]);
      expect(await row.locator('.delta').textContent()).toBe(e.delta > 0 ? `+${e.delta}` : String(e.delta));
      expect(await row.locator('.sub').textContent()).toBe(`余额 ${e.balance_after}`);
      expect(await row.locator('.meta').textContent()).toContain(shownTime(e.created_at));
    }
    expect(await texts(ledgerRows.locator('.title'))).toEqual(['消费', '消费', '新用户赠送']);
    expect(await texts(ledgerRows.locator('.delta'))).toEqual(['-2', '-3', '+10']);

    const orderRows = page.locator('#orders-list li');
    expect(await orderRows.count()).toBe(orders.length);
    expect(orders).toHaveLength(1);
    expect(await texts(orderRows.first().locator('.title, .delta, .status-pill'))).toEqual([
      '购买额度 50张',
      yuan(orders[0].amount),
      ORDER_STATUS[orders[0].status],
    ]);
    expect(await texts(orderRows.first().locator('.title, .delta, .status-pill'))).toEqual(['购买额度 50张', '¥39.00', '待支付']);
    expect(await orderRows.first().locator('.meta').textContent()).toBe(`${shownTime(orders[0].created_at)} · ${orders[0].order_no}`);
  });

  it('credits_info.html: 已绑定的电脑 lists the desktop; 解绑 asks first, and only a confirmed unbind cuts the desktop off', async () => {
    const openid = newOpenid();
    const clientId = `PC_${Date.now()}_browser01`;
    const qr = (await (
      await fetch(`${t.url}/api/v1/auth/wechat/qrcode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_id: clientId }),
      })
    ).json()) as { ticket: string };
    await h.sandbox('/actions/scan', { ticket: qr.ticket, openid });
    const desktopCredits = () => fetch(`${t.url}/api/v1/user/credits?client_id=${clientId}`).then((r) => r.status);
    expect(await desktopCredits()).toBe(200);

    const page = await h.newPage();
    await h.arrive(page, 'credits_info', openid);
    const rows = page.locator('#devices-list li');
    expect(await texts(rows.locator('.title'))).toEqual([`${clientId.slice(0, 7)}…${clientId.slice(-4)}`]);

    // Declining the confirmation (the harness dismisses dialogs) leaves the desktop bound.
    const watch = h.watch(page)!;
    await rows.first().locator('button.unbind').click();
    await eventually(() => watch.dialogs.length === 1);
    expect(watch.dialogs[0]).toContain('确定解绑');
    expect(await desktopCredits()).toBe(200);

    page.removeAllListeners('dialog');
    page.on('dialog', (d) => void d.accept());
    await rows.first().locator('button.unbind').click();
    await page.locator('#devices-list li.empty').waitFor();
    expect(await texts(page.locator('#devices-list li'))).toEqual(['暂无绑定的电脑']);
    expect(await desktopCredits()).toBe(404);
    watch.dialogs.length = 0; // the one confirmation above was expected
  });

  it('a reload keeps the session: no new login, same token, same data', async () => {
    const openid = newOpenid();
    const page = await h.newPage();
    let logins = 0;
    page.on('request', (r) => {
      if (r.url().includes('/api/v1/auth/wechat?')) logins++;
    });
    await h.arrive(page, 'credits_info', openid);
    const token = await h.token(page);
    expect(logins).toBe(1);

    await page.reload();
    await h.loaded(page);
    expect(page.url()).toBe(h.pageUrl('credits_info'));
    expect(logins).toBe(1);
    expect(await h.token(page)).toBe(token);
    expect(await stats(page)).toEqual({ remaining: '10', used: '0', total: '10' });
  });

  it('an expired or tampered session shows the way back through the menu, with no stale data', async () => {
    const openid = newOpenid();
    const page = await h.newPage();
    await h.arrive(page, 'credits_info', openid);
    expect(await page.locator('#stat-remaining').textContent()).toBe('10');

    // Tampered token: 401 on load.
    await h.setToken(page, `${(await h.token(page))!.slice(0, -4)}AAAA`);
    await page.reload();
    await page.locator('#error').waitFor({ state: 'visible' });
    expect(await page.locator('#error').textContent()).toBe(EXPIRED_TEXT);
    expect(await page.locator('#content').isVisible()).toBe(false);
    expect(await page.locator('#stat-remaining').count()).toBe(0);
    expect(await page.locator('#loading').isVisible()).toBe(false);
    expect(await h.token(page)).toBeNull(); // forgotten, not retried

    // A genuine token whose lifetime is over (SESSION_TTL_SECONDS passed).
    const now = Math.floor(Date.now() / 1000);
    await h.setToken(page, signSessionToken(TEST_SESSION_SECRET, openid, now - 8000, 7200));
    await page.reload();
    await page.locator('#error').waitFor({ state: 'visible' });
    expect(await page.locator('#error').textContent()).toBe(EXPIRED_TEXT);
    expect(await page.locator('#stat-remaining').count()).toBe(0);

    // Expiry while the page is open: the next call (a purchase) clears what was shown.
    await h.arrive(page, 'credits', openid);
    await h.setToken(page, signSessionToken(TEST_SESSION_SECRET, openid, now - 8000, 7200));
    await page.locator('#buy-button').click();
    await page.locator('#error').waitFor({ state: 'visible' });
    expect(await page.locator('#error').textContent()).toBe(EXPIRED_TEXT);
    expect(await page.locator('#packages').count()).toBe(0);
    expect(await page.locator('#balance-remaining').count()).toBe(0);
    expect(await page.getByTestId('sandbox-pay-sheet').count()).toBe(0);

    // No session at all (a link opened outside the menu): no data; the page sends it to WeChat's login.
    const stranger = await h.newPage();
    await stranger.goto(h.pageUrl('credits_info'));
    await stranger.getByTestId('sandbox-login-form').waitFor();
    expect(new URL(stranger.url()).pathname).toBe('/sandbox/open/connect/oauth2/authorize');
  });

  describe('login CSRF: the page only uses a code that comes back with the state it issued', () => {
    /** Counts the page's code exchanges (GET /api/v1/auth/wechat?code=…). */
    function countLogins(page: Page): { n: number } {
      const seen = { n: 0 };
      page.on('request', (r) => {
        if (r.url().includes('/api/v1/auth/wechat?')) seen.n++;
      });
      return seen;
    }

    it('arrival from the menu link (the page, no code): the page starts OAuth with a fresh 128-bit state, WeChat hands it back, login works', async () => {
      const openid = newOpenid();
      const page = await h.newPage();
      const logins = countLogins(page);
      const starts: string[] = [];
      page.on('request', (r) => {
        if (r.url().includes('/api/v1/auth/wechat/authorize')) starts.push(r.url());
      });
      await page.goto(h.pageUrl('member'));
      await page.getByTestId('sandbox-login-form').waitFor();
      expect(starts).toHaveLength(1);
      const start = new URL(starts[0]);
      expect(start.searchParams.get('page')).toBe('member');
      const state = start.searchParams.get('state')!;
      expect(state).toMatch(/^[0-9a-f]{32}$/);
      expect(await page.evaluate("sessionStorage.getItem('wx_oauth_state')")).toBe(state);
      // The sandbox, like WeChat, carries the state through its login page back to the page.
      expect(await page.locator('input[type="hidden"][name="state"]').getAttribute('value')).toBe(state);

      const back = page.waitForRequest((r) => r.url().startsWith(`${h.pageUrl('member')}?`));
      await h.sandboxLogin(page, openid);
      const landing = new URL((await back).url());
      expect(landing.searchParams.get('state')).toBe(state);
      expect(landing.searchParams.get('code')).toBeTruthy();
      await page.waitForURL(h.pageUrl('member'));
      await h.loaded(page);
      expect(logins.n).toBe(1);
      expect(await page.evaluate("sessionStorage.getItem('wx_session_openid')")).toBe(openid);
      // The state was for one use only.
      expect(await page.evaluate("sessionStorage.getItem('wx_oauth_state')")).toBeNull();

      // A second login in another tab draws another state.
      const other = await h.newPage();
      await other.goto(h.pageUrl('credits'));
      await other.getByTestId('sandbox-login-form').waitFor();
      expect(await other.evaluate("sessionStorage.getItem('wx_oauth_state')")).toMatch(/^[0-9a-f]{32}$/);
      expect(await other.evaluate("sessionStorage.getItem('wx_oauth_state')")).not.toBe(state);
    });

    it("an attacker's code (foreign, missing or old-menu state) never logs in: no exchange, no session, a fresh login instead", async () => {
      const attacker = newOpenid('oAttacker_');
      const victim = newOpenid('oVictim_');
      for (const link of [
        (code: string) => `${h.pageUrl('member')}?code=${code}&state=member`,
        (code: string) => `${h.pageUrl('credits')}?code=${code}`,
        (code: string) => `${h.pageUrl('credits_info')}?code=${code}&state=${'0'.repeat(32)}`,
      ]) {
        const code = await h.codeFor(attacker);
        const page = await h.newPage();
        const logins = countLogins(page);
        await page.goto(link(code));
        await page.getByTestId('sandbox-login-form').waitFor();
        expect(logins.n).toBe(0);
        expect(await h.token(page)).toBeNull();
        // The fresh login is the victim's own, and the page shows the victim.
        const name = new URL(link('x')).pathname.replace('/wechat/', '').replace('.html', '') as 'member' | 'credits' | 'credits_info';
        await h.sandboxLogin(page, victim);
        await page.waitForURL(h.pageUrl(name));
        await h.loaded(page);
        expect(logins.n).toBe(1);
        expect(await page.evaluate("sessionStorage.getItem('wx_session_openid')")).toBe(victim);
        // The attacker's code was never spent by the page.
        const attackerLogin = await fetch(`${t.url}/api/v1/auth/wechat?code=${encodeURIComponent(code)}`);
        expect(attackerLogin.status).toBe(200);
      }
      expect(await h.query('SELECT openid FROM wechat_users WHERE openid = ?', [victim])).toHaveLength(1);
    });

    it('a foreign code arriving in a tab that has a session and a pending state of its own: neither the session nor the state is replaced by it', async () => {
      const attacker = newOpenid('oAttacker_');
      const victim = newOpenid('oVictim_');
      const page = await h.newPage();
      await h.arrive(page, 'credits_info', victim);
      const token = await h.token(page);
      await page.evaluate("sessionStorage.setItem('wx_oauth_state', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')");
      const logins = countLogins(page);
      await page.goto(`${h.pageUrl('credits_info')}?code=${await h.codeFor(attacker)}&state=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb`);
      await page.getByTestId('sandbox-login-form').waitFor();
      expect(logins.n).toBe(0);
      expect(await h.token(page)).toBe(token);
      expect(await page.evaluate("sessionStorage.getItem('wx_session_openid')")).toBe(victim);
    });
  });

  it('hostile text in user-controlled fields (task type, ledger ref) is shown as text, never run', async () => {
    const openid = newOpenid();
    const page = await h.newPage();
    await h.arrive(page, 'credits_info', openid);
    const taskType = '<img src=x onerror=alert(1)>';
    const taskId = '<script>alert(2)</script>';
    await consume(openid, taskType, taskId, 1, 1, 1);

    await page.reload();
    await h.loaded(page);
    expect(await page.locator('#usage-list .task-type').first().textContent()).toBe(taskType);
    const ledgerMeta = await page.locator('#ledger-list li[data-reason="consume"] .meta').textContent();
    expect(ledgerMeta).toContain(`${taskType}:${taskId}`);
    // Nothing was parsed as markup: no image, no extra script, nothing ran (the afterEach checks dialogs).
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('#content script, #content img').count()).toBe(0);
    const scripts = await page.locator('script').evaluateAll((els) => els.map((e) => (e as any).getAttribute('src') as string | null));
    expect(scripts).toEqual(['/wechat/env.js', '/sandbox/jsbridge.js', 'app.js?v=3']);
  });
});
