import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, BrowserContext, chromium, Locator, Page } from 'playwright-core';
import { DatabaseService } from '../../src/database/database.service';
import { ROOT, TestApp } from '../setup/test-app';

/**
 * Debian's Chromium driven by playwright-core (never a downloaded browser), against an app booted
 * in this process in sandbox mode: the sandbox plays WeChat's OAuth and the WeixinJSBridge pay sheet.
 */
export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The phone the pages are designed for (iPhone 12–15 CSS viewport). */
export const MOBILE_VIEWPORT = { width: 390, height: 844 };
export const SCREENSHOT_DIR = join(ROOT, 'docs', 'screenshots');

export type PageName = 'member' | 'credits' | 'credits_info';

export const EXPIRED_TEXT = '登录已过期，请从公众号菜单重新进入';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

export const newOpenid = (prefix = 'oPage_') => `${prefix}${randomBytes(8).toString('hex')}`;

/** What a page did that a test must never see: uncaught errors and dialogs (an executed alert()). */
export interface PageWatch {
  errors: string[];
  dialogs: string[];
}

export class PagesHarness {
  private contexts: BrowserContext[] = [];
  private watches = new Map<Page, PageWatch>();

  constructor(
    readonly t: TestApp,
    readonly browser: Browser,
  ) {}

  /**
   * A fresh phone: its own sessionStorage, mobile viewport, a device clock zone far from Beijing
   * (the pages show server times in Beijing time whatever the phone's zone).
   */
  async newPage(): Promise<Page> {
    const context = await this.browser.newContext({
      viewport: MOBILE_VIEWPORT,
      deviceScaleFactor: 1,
      isMobile: true,
      hasTouch: true,
      locale: 'zh-CN',
      timezoneId: 'America/Los_Angeles',
    });
    this.contexts.push(context);
    const page = await context.newPage();
    const watch: PageWatch = { errors: [], dialogs: [] };
    page.on('pageerror', (err) => watch.errors.push(err.message));
    page.on('dialog', (d) => {
      watch.dialogs.push(d.message());
      void d.dismiss();
    });
    this.watches.set(page, watch);
    return page;
  }

  watch(page: Page): PageWatch | undefined {
    return this.watches.get(page);
  }

  async closeAll(): Promise<void> {
    const contexts = this.contexts;
    this.contexts = [];
    this.watches.clear();
    await Promise.all(contexts.map((c) => c.close().catch(() => undefined)));
  }

  pageUrl(name: PageName): string {
    return `${this.t.url}/wechat/${name}.html`;
  }

  /**
   * The OAuth link the menu used to carry (a fixed `state=<page>`), with the sandbox's instant login
   * as `openid`: the code it lands with is one the page did not ask for.
   */
  oldMenuLink(name: PageName, openid: string): string {
    const { wechat, http } = this.t.config;
    const q = new URLSearchParams({
      appid: wechat.appId,
      redirect_uri: `${http.publicBaseUrl}/wechat/${name}.html`,
      response_type: 'code',
      scope: 'snsapi_base',
      state: name,
      sandbox_openid: openid,
    });
    return `${wechat.oauthBase}/connect/oauth2/authorize?${q.toString()}#wechat_redirect`;
  }

  /** A genuine code for `openid` as WeChat would hand it to the page (the redirect is not followed). */
  async codeFor(openid: string): Promise<string> {
    const res = await fetch(this.oldMenuLink('member', openid).replace('#wechat_redirect', ''), { redirect: 'manual' });
    const code = new URL(res.headers.get('location')!).searchParams.get('code');
    if (res.status !== 302 || !code) throw new Error(`sandbox authorize: HTTP ${res.status}`);
    return code;
  }

  /** The sandbox's "Log in as…" page (WeChat's OAuth) is showing: log in as `openid`. */
  async sandboxLogin(page: Page, openid: string): Promise<void> {
    await page.getByTestId('sandbox-login-form').waitFor();
    await page.getByTestId('sandbox-openid').fill(openid);
    await page.getByTestId('sandbox-login').click();
  }

  /**
   * Arrival as from the menu (its link is the page itself): the page starts OAuth with its own state
   * → WeChat (the sandbox) logs in as `openid` → page with ?code=&state= → session → query stripped.
   */
  async arrive(page: Page, name: PageName, openid: string): Promise<void> {
    await page.goto(this.pageUrl(name));
    await this.sandboxLogin(page, openid);
    await page.waitForURL(this.pageUrl(name));
    await this.loaded(page);
  }

  /** Waits until the page left its loading state and shows its content. */
  async loaded(page: Page): Promise<void> {
    await page.locator('#content').waitFor({ state: 'visible' });
  }

  async token(page: Page): Promise<string | null> {
    return page.evaluate<string | null>("sessionStorage.getItem('wx_session_token')");
  }

  async setToken(page: Page, token: string): Promise<void> {
    await page.evaluate(`sessionStorage.setItem('wx_session_token', ${JSON.stringify(token)})`);
  }

  /** GET on the public API with the page's own session, to compare with what the page shows. */
  async api<T = any>(path: string, token: string): Promise<T> {
    const res = await fetch(`${this.t.url}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
    if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  async sandbox(path: string, body: unknown): Promise<any> {
    const res = await fetch(`${this.t.url}/sandbox${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const data = await res.json();
    if (res.status !== 200) throw new Error(`sandbox ${path}: HTTP ${res.status} ${JSON.stringify(data)}`);
    return data;
  }

  query(sql: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
    return this.t.app.get(DatabaseService).dataSource.query(sql, params);
  }

  async orderStatus(orderNo: string): Promise<string> {
    const rows = await this.query('SELECT status FROM payment_orders WHERE order_no = ?', [orderNo]);
    return String(rows[0]?.status);
  }

  /** Clicks the pay button and waits for the sandbox's pay sheet; resolves the created order number. */
  async openPaySheet(page: Page, button: Locator): Promise<string> {
    const created = page.waitForResponse((r) => r.url().endsWith('/api/v1/payment/create-order') && r.request().method() === 'POST');
    await button.click();
    const res = await created;
    const body = (await res.json()) as { order_no?: string; detail?: string };
    if (res.status() !== 200 || !body.order_no) throw new Error(`create-order: ${res.status()} ${JSON.stringify(body)}`);
    await page.getByTestId('sandbox-pay-sheet').waitFor({ state: 'visible' });
    return body.order_no;
  }

  async screenshot(page: Page, name: PageName): Promise<void> {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    // Freeze animations (the spinner) and the caret so the committed PNGs only change with the design.
    await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), animations: 'disabled', caret: 'hide' });
  }
}

/** Trimmed texts of every element the locator matches. */
export async function texts(locator: Locator): Promise<string[]> {
  return (await locator.allTextContents()).map((s) => s.trim());
}

/** "YYYY-MM-DD HH:mm" of a server time (legacy "YYYY-MM-DD HH:mm:ss" or ISO +08:00): what the pages show. */
export function shownTime(value: string): string {
  const m = /^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d)(:\d\d)?(\+08:00)?$/.exec(value);
  if (!m) throw new Error(`unexpected server time ${value}`);
  return `${m[1]} ${m[2]}`;
}

export function yuan(n: number): string {
  return `¥${n.toFixed(2)}`;
}
