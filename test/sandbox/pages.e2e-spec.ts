import vm from 'node:vm';
import { v2Sign } from '../../src/wechat/pay/crypto/v2-sign';
import { eventually } from '../setup/test-app';
import {
  accessToken,
  app,
  cfg,
  createQr,
  getJson,
  inlineScripts,
  nowSeconds,
  OPENID,
  placeV2,
  postJson,
  receiver,
  Receiver,
  sb,
  v2Call,
  VERIFY_PATH,
  useSandboxApp,
} from './harness';

/** The sandbox's own pages: the WeixinJSBridge for ordinary browsers and the home page (with reset). */
useSandboxApp();

describe('GET /sandbox/jsbridge.js', () => {
  /** A just-enough DOM to run the bridge outside a browser; innerHTML is a trap. */
  function fakeBrowser(scriptUrl: string) {
    const byId = new Map<string, FakeElement>();
    class FakeElement {
      attrs: Record<string, string> = {};
      children: FakeElement[] = [];
      parentNode: FakeElement | null = null;
      listeners: Record<string, Array<(e: unknown) => void>> = {};
      textContent = '';
      disabled = false;
      selected?: string;
      constructor(readonly tag: string) {}
      setAttribute(name: string, value: string) {
        this.attrs[name] = String(value);
        if (name === 'id') byId.set(String(value), this);
      }
      appendChild(child: FakeElement) {
        child.parentNode = this;
        this.children.push(child);
        return child;
      }
      removeChild(child: FakeElement) {
        this.children = this.children.filter((c) => c !== child);
        child.parentNode = null;
        return child;
      }
      addEventListener(type: string, fn: (e: unknown) => void) {
        (this.listeners[type] ??= []).push(fn);
      }
      click() {
        if (!this.disabled) for (const fn of this.listeners.click ?? []) fn({});
      }
      get value(): string {
        return this.selected ?? this.children[0]?.attrs.value ?? '';
      }
      set value(v: string) {
        this.selected = v;
      }
      set innerHTML(_v: string) {
        throw new Error('the bridge must not use innerHTML');
      }
      get isConnected(): boolean {
        if (this === body) return true;
        let n = this.parentNode;
        while (n && n !== body) n = n.parentNode;
        return n === body;
      }
    }
    const body = new FakeElement('body');
    const events: string[] = [];
    const docListeners: Record<string, Array<() => void>> = {};
    const document = {
      currentScript: { src: scriptUrl },
      body,
      createElement: (tag: string) => new FakeElement(tag),
      addEventListener: (type: string, fn: () => void) => (docListeners[type] ??= []).push(fn),
      dispatchEvent: (ev: { type: string }) => {
        events.push(ev.type);
        for (const fn of docListeners[ev.type] ?? []) fn();
        return true;
      },
    };
    class FakeEvent {
      constructor(readonly type: string) {}
    }
    const window: Record<string, any> = {};
    const timer = (fn: () => void, ms?: number) => setTimeout(fn, ms).unref();
    const context = vm.createContext({
      window,
      document,
      fetch,
      setTimeout: timer,
      location: { origin: new URL(scriptUrl).origin },
      Event: FakeEvent,
    });
    return { context, window, document, events, byId };
  }

  it('is served as JavaScript and defines WeixinJSBridge without innerHTML or external resources', async () => {
    const res = await fetch(sb('/jsbridge.js'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/javascript/);
    const src = await res.text();
    expect(() => new vm.Script(src)).not.toThrow();
    expect(src).toContain('getBrandWCPayRequest');
    expect(src).not.toMatch(/innerHTML|https?:\/\//);
  });

  it('runs a full payment: ready event, paySign check, pay sheet, Pay → :ok and a notification; Cancel → :cancel', async () => {
    const src = await (await fetch(sb('/jsbridge.js'))).text();
    const browser = fakeBrowser(sb('/jsbridge.js'));
    const ready = new Promise<void>((resolve) => browser.document.addEventListener('WeixinJSBridgeReady', resolve));
    vm.runInContext(src, browser.context);
    await ready;
    expect(typeof browser.window.WeixinJSBridge.invoke).toBe('function');

    const pay = async (prepayId: string, button: string) => {
      const params: Record<string, string> = {
        appId: cfg.wechat.appId,
        timeStamp: String(nowSeconds()),
        nonceStr: 'n1',
        package: `prepay_id=${prepayId}`,
        signType: 'MD5',
      };
      params.paySign = v2Sign(params, cfg.pay.apiKey, 'MD5');
      const result = new Promise<{ err_msg: string }>((resolve) =>
        browser.window.WeixinJSBridge.invoke('getBrandWCPayRequest', params, resolve),
      );
      await eventually(() => browser.byId.get('sandbox-pay-confirm')?.isConnected === true, 5000, 10);
      expect(browser.byId.get('sandbox-pay-amount')!.textContent).toBe('¥29.90');
      expect(browser.byId.get('sandbox-pay-sheet')!.attrs['data-testid']).toBe('sandbox-pay-sheet');
      browser.byId.get(button)!.click();
      const res = await result;
      expect(browser.byId.get('sandbox-pay-sheet')!.isConnected).toBe(false);
      return res;
    };

    const paid = await placeV2();
    expect(await pay(paid.prepayId, 'sandbox-pay-confirm')).toEqual({ err_msg: 'get_brand_wcpay_request:ok' });
    expect((await v2Call('orderquery', { out_trade_no: paid.outTradeNo })).fields.trade_state).toBe('SUCCESS');
    expect(receiver.on('/notify/v2')).toHaveLength(1);

    const cancelled = await placeV2();
    expect(await pay(cancelled.prepayId, 'sandbox-pay-cancel')).toEqual({ err_msg: 'get_brand_wcpay_request:cancel' });
    const failed = await placeV2();
    expect((await pay(failed.prepayId, 'sandbox-pay-fail')).err_msg).toBe('get_brand_wcpay_request:fail');
    expect((await v2Call('orderquery', { out_trade_no: cancelled.outTradeNo })).fields.trade_state).toBe('NOTPAY');
    expect((await v2Call('orderquery', { out_trade_no: failed.outTradeNo })).fields.trade_state).toBe('PAYERROR');

    // A bad paySign fails without showing the sheet.
    const bad = await placeV2();
    const res = await new Promise<{ err_msg: string; err_desc: string }>((resolve) =>
      browser.window.WeixinJSBridge.invoke(
        'getBrandWCPayRequest',
        { appId: cfg.wechat.appId, timeStamp: '1', nonceStr: 'n', package: `prepay_id=${bad.prepayId}`, signType: 'MD5', paySign: 'WRONG' },
        resolve,
      ),
    );
    expect(res).toEqual({ err_msg: 'get_brand_wcpay_request:fail', err_desc: '支付验证签名失败' });
    expect(browser.byId.get('sandbox-pay-toast')!.textContent).toBe('支付验证签名失败');
  });
});

describe('home page', () => {
  it('is HTML with the member pages through the sandbox OAuth, users and notifications, all escaped', async () => {
    await postJson(sb('/faults'), { push_mode: 'plain' });
    receiver.handler = (r) => (r.path === VERIFY_PATH ? { status: 200, body: '<img src=x onerror=alert(2)>' } : Receiver.defaultHandler(r));
    const token = await accessToken();
    const qr = await createQr(token, {
      expire_seconds: 600,
      action_name: 'QR_STR_SCENE',
      action_info: { scene: { scene_str: '<script>alert(1)</script>' } },
    });
    await postJson(sb('/actions/scan'), { ticket: qr.ticket, openid: 'oSBXhomepage0000000000000001' });

    const res = await fetch(sb(''));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    // The member pages as the account menu opens them: the pages themselves (they start their own OAuth).
    for (const page of ['member.html', 'credits.html', 'credits_info.html']) {
      expect(html).toContain(`data-testid="sandbox-member-link" href="${cfg.http.publicBaseUrl}/wechat/${page}"`);
    }
    expect(html).toContain('oSBXhomepage0000000000000001');
    expect(html).toContain('demo-client-id');
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('qrscene_&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(2)&gt;');
    expect(inlineScripts(html)).toHaveLength(1);
    for (const script of inlineScripts(html)) expect(() => new vm.Script(script)).not.toThrow();
  });

  it('the member link of the home page opens the page, whose own login (authorize with its state) leads to a code the app can exchange', async () => {
    const html = await (await fetch(sb(''))).text();
    const href = /data-testid="sandbox-member-link" href="([^"]*member\.html)"/.exec(html)![1];
    expect(href).toBe(`${cfg.http.publicBaseUrl}/wechat/member.html`);
    const state = 'f'.repeat(32);
    const start = await fetch(`${app.url}/api/v1/auth/wechat/authorize?page=member&state=${state}`, { redirect: 'manual' });
    const url = new URL(start.headers.get('location')!);
    url.hash = '';
    url.searchParams.set('sandbox_openid', OPENID);
    const res = await fetch(url, { redirect: 'manual' });
    const landing = new URL(res.headers.get('location')!);
    expect(landing.origin + landing.pathname).toBe(href);
    expect(landing.searchParams.get('state')).toBe(state);
    const code = landing.searchParams.get('code')!;
    const q = new URLSearchParams({ appid: cfg.wechat.appId, secret: cfg.wechat.secret, code, grant_type: 'authorization_code' });
    expect((await getJson(sb(`/api/sns/oauth2/access_token?${q.toString()}`))).body.openid).toBe(OPENID);
  });

  it('reset clears state and counters', async () => {
    await accessToken();
    await placeV2();
    expect((await getJson(sb('/stats'))).body).toMatchObject({ token_fetches: 1, orders: 1 });
    await postJson(sb('/reset'), {});
    expect((await getJson(sb('/stats'))).body).toMatchObject({ token_fetches: 0, orders: 0, users: 0 });
    expect((await getJson(sb('/orders'))).body.orders).toEqual([]);
  });
});
