/*
 * Shared script of the member pages (member.html, credits.html, credits_info.html).
 * Vanilla ES5 for WeChat's webviews; no framework, no CDN. Every server or URL value is written
 * with textContent / createElement, never innerHTML (docs/pages.md, "no XSS").
 * The pages load it as app.js?v=N and versioned URLs may be cached for a week: bump N in the three
 * pages (and for app.css) whenever this file changes.
 */
(function () {
  'use strict';

  var API = '/api/v1';
  var TOKEN_KEY = 'wx_session_token';
  var OPENID_KEY = 'wx_session_openid';
  var EXPIRED_TEXT = '登录已过期，请从公众号菜单重新进入';
  var PAY_OK = 'get_brand_wcpay_request:ok';
  var POLL_INTERVAL_MS = 1500;
  var POLL_MAX_MS = 20000;
  var BRIDGE_WAIT_MS = 3000;
  var SUCCESS_REDIRECT_MS = 1200;

  // ---------------------------------------------------------------------------------------------
  // DOM helpers

  function byId(id) {
    return document.getElementById(id);
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function clear(node) {
    while (node && node.firstChild) node.removeChild(node.firstChild);
  }

  function setText(id, text) {
    var node = byId(id);
    if (node) node.textContent = String(text);
  }

  // ---------------------------------------------------------------------------------------------
  // Session (sessionStorage; an in-memory fallback where storage is blocked)

  var memoryStore = {};

  function storeGet(key) {
    try {
      return window.sessionStorage.getItem(key);
    } catch (e) {
      return Object.prototype.hasOwnProperty.call(memoryStore, key) ? memoryStore[key] : null;
    }
  }

  function storeSet(key, value) {
    try {
      window.sessionStorage.setItem(key, value);
    } catch (e) {
      memoryStore[key] = value;
    }
  }

  function storeRemove(key) {
    try {
      window.sessionStorage.removeItem(key);
    } catch (e) {
      /* storage blocked: the memory copy is dropped below */
    }
    delete memoryStore[key];
  }

  function sessionToken() {
    return storeGet(TOKEN_KEY);
  }

  function saveSession(token, openid) {
    storeSet(TOKEN_KEY, token);
    storeSet(OPENID_KEY, openid || '');
  }

  function dropSession() {
    storeRemove(TOKEN_KEY);
    storeRemove(OPENID_KEY);
  }

  // ---------------------------------------------------------------------------------------------
  // Formatting: dates are parsed explicitly (iOS cannot parse "YYYY-MM-DD HH:mm:ss" with new Date)
  // and shown in Beijing time, the time the server speaks.

  var DATE_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/;
  var BEIJING_OFFSET_MIN = 8 * 60;

  /** Milliseconds since the epoch, or null. A value without an offset is read as +08:00. */
  function parseDate(value) {
    if (typeof value !== 'string') return null;
    var m = DATE_RE.exec(value.trim());
    if (!m) return null;
    var offset = BEIJING_OFFSET_MIN;
    if (m[7] === 'Z') offset = 0;
    else if (m[7]) {
      var digits = m[7].replace(':', '');
      offset = (digits.charAt(0) === '-' ? -1 : 1) * (Number(digits.substr(1, 2)) * 60 + Number(digits.substr(3, 2)));
    }
    var utc = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] || 0));
    return utc - offset * 60000;
  }

  function pad2(n) {
    return n < 10 ? '0' + n : String(n);
  }

  /** "YYYY-MM-DD HH:mm" in Beijing time; the raw text when it cannot be parsed. */
  function formatDate(value) {
    var ms = parseDate(value);
    if (ms === null) return value ? String(value) : '';
    var d = new Date(ms + BEIJING_OFFSET_MIN * 60000);
    return (
      d.getUTCFullYear() +
      '-' +
      pad2(d.getUTCMonth() + 1) +
      '-' +
      pad2(d.getUTCDate()) +
      ' ' +
      pad2(d.getUTCHours()) +
      ':' +
      pad2(d.getUTCMinutes())
    );
  }

  /** Yuan with two decimals: 29.9 → "¥29.90". */
  function yuan(amount) {
    var fen = Math.round(Number(amount) * 100);
    return '\u00a5' + (fen / 100).toFixed(2);
  }

  function signed(n) {
    n = Number(n);
    return (n > 0 ? '+' : '') + n;
  }

  // ---------------------------------------------------------------------------------------------
  // Page states: loading spinner, error box, content

  var expired = false;

  function showLoading() {
    byId('loading').hidden = false;
    byId('error').hidden = true;
    byId('content').hidden = true;
  }

  function showError(text) {
    byId('loading').hidden = true;
    var box = byId('error');
    box.textContent = text;
    box.hidden = false;
  }

  function showContent() {
    byId('loading').hidden = true;
    byId('error').hidden = true;
    byId('content').hidden = false;
  }

  /** A 401 anywhere: forget the session and every rendered value, then tell the user the way back. */
  function sessionExpired() {
    expired = true;
    dropSession();
    var content = byId('content');
    clear(content);
    content.hidden = true;
    showError(EXPIRED_TEXT);
  }

  // ---------------------------------------------------------------------------------------------
  // API: relative base, Bearer token, {"detail"} errors

  function ApiError(status, detail) {
    this.name = 'ApiError';
    this.status = status;
    this.message = detail;
  }
  ApiError.prototype = Object.create(Error.prototype);
  ApiError.prototype.constructor = ApiError;

  function api(path, options) {
    options = options || {};
    var headers = { Accept: 'application/json' };
    var token = sessionToken();
    if (!options.anonymous && token) headers.Authorization = 'Bearer ' + token;
    var init = { method: options.method || 'GET', headers: headers, cache: 'no-store', credentials: 'same-origin' };
    if (options.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(options.body);
    }
    return fetch(API + path, init).then(
      function (res) {
        return res.text().then(function (text) {
          var data = null;
          try {
            data = text ? JSON.parse(text) : null;
          } catch (e) {
            data = null;
          }
          if (res.ok && data) return data;
          var detail = data && typeof data.detail === 'string' ? data.detail : '服务暂不可用，请稍后重试（' + res.status + '）';
          var err = new ApiError(res.status, detail);
          if (res.status === 401 && !options.anonymous) {
            err.handled = true;
            sessionExpired();
          }
          throw err;
        });
      },
      function () {
        throw new ApiError(0, '网络异常，请检查网络后重试');
      },
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Identity: the page logs in itself (login CSRF, docs/deploy.md "Menu"). Without a session it keeps a
  // fresh, unguessable `state` in sessionStorage and goes through WeChat's OAuth (the server's
  // /auth/wechat/authorize redirect), which comes back here with ?code=&state=. A code is used only
  // with the state this tab issued, and only once; any other code (a forged or shared link, an old
  // menu link) is never used: a fresh login starts instead. The query is stripped either way.

  var STATE_KEY = 'wx_oauth_state';
  var LOGIN_TRIES_KEY = 'wx_oauth_tries';
  /** Logins started in a row without a session coming back: then the page stops and says so. */
  var MAX_LOGIN_TRIES = 3;
  var LOGIN_FAILED_TEXT = '登录失败，请从公众号菜单重新进入';

  /** The state must survive the trip to WeChat and back: the in-memory fallback would not. */
  function storageWorks() {
    try {
      window.sessionStorage.setItem('wx_probe', '1');
      window.sessionStorage.removeItem('wx_probe');
      return true;
    } catch (e) {
      return false;
    }
  }

  /** 128 random bits as 32 hex digits, or null without a cryptographic generator. */
  function newState() {
    var c = window.crypto;
    if (!c || typeof c.getRandomValues !== 'function') return null;
    var bytes = c.getRandomValues(new Uint8Array(16));
    var s = '';
    for (var i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
    return s;
  }

  /** Leaves for WeChat's OAuth with a new state (never settles), or rejects when it cannot. */
  function startLogin(page) {
    var tries = Number(storeGet(LOGIN_TRIES_KEY) || 0);
    var state = newState();
    if (!state || !storageWorks() || tries >= MAX_LOGIN_TRIES) {
      storeRemove(LOGIN_TRIES_KEY);
      return Promise.reject(new ApiError(0, LOGIN_FAILED_TEXT));
    }
    storeSet(LOGIN_TRIES_KEY, String(tries + 1));
    storeSet(STATE_KEY, state);
    location.replace(API + '/auth/wechat/authorize?page=' + encodeURIComponent(page) + '&state=' + state);
    return new Promise(function () {});
  }

  function ensureSession(page) {
    var code = null;
    var state = null;
    if (location.search) {
      var params = new URLSearchParams(location.search);
      code = params.get('code');
      state = params.get('state');
      // The code is single-use: never leave it where a reload or a shared link would replay it
      // (the fragment goes too: it is only WeChat's `#wechat_redirect` marker).
      history.replaceState(history.state, '', location.pathname);
    }
    if (code) {
      var issued = storeGet(STATE_KEY);
      storeRemove(STATE_KEY); // one use, whatever happens next
      if (!issued || state !== issued) return startLogin(page);
      return api('/auth/wechat?code=' + encodeURIComponent(code), { anonymous: true }).then(
        function (r) {
          if (!r || typeof r.token !== 'string' || !r.token) throw new ApiError(0, LOGIN_FAILED_TEXT);
          storeRemove(LOGIN_TRIES_KEY);
          saveSession(r.token, r.openid);
        },
        function (err) {
          if (sessionToken()) return; // the session this tab already has still holds
          throw new ApiError(err.status, '登录失败：' + err.message + '，请从公众号菜单重新进入');
        },
      );
    }
    if (!sessionToken()) return startLogin(page);
    return Promise.resolve();
  }

  // ---------------------------------------------------------------------------------------------
  // Payment: create-order → WeixinJSBridge → poll the order until the server says paid

  function hasBridge() {
    return !!(window.WeixinJSBridge && typeof window.WeixinJSBridge.invoke === 'function');
  }

  /** The bridge now, or once WeixinJSBridgeReady fires; "请在微信中打开" after 3 s without it. */
  function waitForBridge() {
    return new Promise(function (resolve, reject) {
      if (hasBridge()) {
        resolve(window.WeixinJSBridge);
        return;
      }
      var timer = null;
      function cleanup() {
        clearTimeout(timer);
        document.removeEventListener('WeixinJSBridgeReady', onReady, false);
      }
      function onReady() {
        if (!hasBridge()) return;
        cleanup();
        resolve(window.WeixinJSBridge);
      }
      document.addEventListener('WeixinJSBridgeReady', onReady, false);
      timer = setTimeout(function () {
        cleanup();
        var err = new ApiError(0, '请在微信中打开');
        err.state = 'no-bridge';
        reject(err);
      }, BRIDGE_WAIT_MS);
    });
  }

  /** One pay button and its status line. `ui`: {button, status}; `body`: the create-order body. */
  function PayFlow(ui) {
    this.ui = ui;
    this.busy = false;
  }

  PayFlow.prototype.status = function (kind, text, state) {
    var box = this.ui.status;
    if (!box) return;
    clear(box);
    box.className = 'notice notice-' + kind;
    box.setAttribute('data-state', state);
    if (kind === 'loading') box.appendChild(el('span', 'spinner spinner-small'));
    box.appendChild(el('span', 'notice-text', text));
    box.hidden = false;
  };

  PayFlow.prototype.finish = function () {
    this.busy = false;
    if (this.ui.button) this.ui.button.disabled = false;
  };

  PayFlow.prototype.start = function (body) {
    var self = this;
    if (self.busy || expired) return;
    self.busy = true;
    self.ui.button.disabled = true;
    self.status('loading', '正在调起支付…', 'preparing');
    waitForBridge()
      .then(function (bridge) {
        return api('/payment/create-order', { method: 'POST', body: body }).then(function (order) {
          return new Promise(function (resolve) {
            bridge.invoke('getBrandWCPayRequest', order.payment_params, resolve);
          }).then(function (res) {
            self.afterBridge(order.order_no, res || {});
          });
        });
      })
      .catch(function (err) {
        if (err && err.handled) return; // 401: the page already shows the way back
        self.status('error', (err && err.message) || '支付失败，请稍后重试', (err && err.state) || 'failed');
        self.finish();
      });
  };

  PayFlow.prototype.afterBridge = function (orderNo, res) {
    var msg = String(res.err_msg || res.errMsg || '');
    if (msg === PAY_OK) {
      this.confirm(orderNo);
      return;
    }
    if (/:cancel$/.test(msg)) {
      this.status('info', '已取消支付', 'cancelled');
    } else {
      var reason = String(res.err_desc || res.errDesc || '').trim();
      this.status('error', reason && reason !== '支付失败' ? '支付失败：' + reason : '支付失败', 'failed');
    }
    this.finish();
  };

  /** The client callback alone proves nothing: only the server's `paid` is a success. */
  PayFlow.prototype.confirm = function (orderNo) {
    var self = this;
    var deadline = Date.now() + POLL_MAX_MS;
    self.status('loading', '支付确认中…', 'confirming');
    function later() {
      setTimeout(tick, POLL_INTERVAL_MS);
    }
    function tick() {
      if (expired) return;
      if (Date.now() >= deadline) {
        self.status('info', '支付结果确认中，请稍后在「我的额度」查看', 'unconfirmed');
        self.finish();
        return;
      }
      api('/payment/orders/' + encodeURIComponent(orderNo)).then(
        function (r) {
          var status = r && r.order ? r.order.status : '';
          if (status === 'paid') {
            self.status('success', '支付成功！正在前往「我的额度」…', 'success');
            setTimeout(function () {
              location.href = 'credits_info.html';
            }, SUCCESS_REDIRECT_MS);
          } else if (status === 'failed') {
            self.status('error', '支付失败', 'failed');
            self.finish();
          } else if (status === 'closed') {
            self.status('error', '订单已关闭', 'failed');
            self.finish();
          } else {
            later();
          }
        },
        function (err) {
          if (!err.handled) later(); // a network blip is no verdict: keep asking until the deadline
        },
      );
    }
    tick();
  };

  // ---------------------------------------------------------------------------------------------
  // member.html

  function memberFeatures(prices) {
    var list = ['智能分类无限照片数量'];
    if (prices.member_bonus_credits > 0) list.push('照片创玩' + prices.member_bonus_credits + '张照片');
    list.push(prices.member_duration_days > 0 ? '会员有效期' + prices.member_duration_days + '天' : '一次开通永久会员');
    list.push('专属客服支持');
    return list;
  }

  function renderMember(prices, credits) {
    var features = byId('member-features');
    clear(features);
    var items = memberFeatures(prices);
    for (var i = 0; i < items.length; i++) {
      var li = el('li');
      li.appendChild(el('span', 'tick', '\u2713'));
      li.appendChild(document.createTextNode(items[i]));
      features.appendChild(li);
    }
    var button = byId('member-action');
    var mark = byId('member-mark');
    var subtitle = byId('member-subtitle');
    if (credits.is_member) {
      setText('member-title', credits.member_expire_at ? '会员有效期至 ' + formatDate(credits.member_expire_at) : '终身会员');
      subtitle.textContent = '已激活';
      subtitle.className = 'subtitle active';
      mark.className = 'vip-mark active';
      byId('member-price').hidden = true;
      button.textContent = '查看额度';
      button.className = 'btn btn-primary';
      button.onclick = function () {
        location.href = 'credits_info.html';
      };
    } else {
      setText('member-title', '开通会员');
      subtitle.textContent = '享受会员专属权益';
      subtitle.className = 'subtitle';
      mark.className = 'vip-mark';
      setText('member-price-amount', yuan(prices.member_price));
      byId('member-test-price').hidden = !prices.is_test_price;
      byId('member-price').hidden = false;
      button.textContent = '立即开通';
      button.className = 'btn btn-pay';
      var flow = new PayFlow({ button: button, status: byId('pay-status') });
      button.onclick = function () {
        flow.start({ order_type: 'member' });
      };
    }
  }

  function memberPage() {
    return Promise.all([api('/payment/prices'), api('/user/credits')]).then(function (r) {
      renderMember(r[0].data, r[1]);
    });
  }

  // ---------------------------------------------------------------------------------------------
  // credits.html

  function renderCredits(prices, credits) {
    setText('balance-remaining', credits.remaining_credits);
    var packages = prices.credits_packages || [];
    var grid = byId('packages');
    var button = byId('buy-button');
    var status = byId('pay-status');
    clear(grid);
    if (!packages.length) {
      grid.appendChild(el('p', 'empty', '暂无可购买的额度套餐'));
      button.hidden = true;
      return;
    }
    var selected = null;
    var cards = [];
    function select(index) {
      selected = packages[index];
      for (var j = 0; j < cards.length; j++) {
        cards[j].className = j === index ? 'package selected' : 'package';
        cards[j].setAttribute('aria-checked', j === index ? 'true' : 'false');
      }
      button.textContent = '立即购买 ' + yuan(selected.price);
    }
    for (var i = 0; i < packages.length; i++) {
      var p = packages[i];
      var card = el('button', 'package');
      card.type = 'button';
      card.setAttribute('role', 'radio');
      card.setAttribute('data-credits', String(p.credits));
      card.appendChild(el('span', 'credits', p.credits + '张'));
      card.appendChild(el('span', 'pkg-price', yuan(p.price)));
      card.appendChild(el('span', 'unit', yuan(Math.round((p.price * 100) / p.credits) / 100) + '/张'));
      card.onclick = (function (index) {
        return function () {
          if (!flow.busy) select(index);
        };
      })(i);
      cards.push(card);
      grid.appendChild(card);
    }
    var flow = new PayFlow({ button: button, status: status });
    button.onclick = function () {
      flow.start({ order_type: 'credits', credits_amount: selected.credits });
    };
    select(0);
  }

  function creditsPage() {
    return Promise.all([api('/payment/prices'), api('/user/credits')]).then(function (r) {
      renderCredits(r[0].data, r[1]);
    });
  }

  // ---------------------------------------------------------------------------------------------
  // credits_info.html

  var LEDGER_REASONS = {
    opening_balance: '期初余额',
    signup_bonus: '新用户赠送',
    purchase: '购买额度',
    member_bonus: '会员赠送',
    consume: '消费',
    refund: '退还',
    admin_adjust: '人工调整',
    payment_refund: '退款扣回',
  };
  /** Reasons whose ref is the user's own openid: nothing worth showing. */
  var LEDGER_REF_HIDDEN = { opening_balance: true, signup_bonus: true };
  var ORDER_STATUS = { pending: '待支付', paid: '已支付', failed: '支付失败', closed: '已关闭', refunded: '已退款' };

  function row(title, meta, side) {
    var li = el('li', 'row');
    var main = el('div', 'main');
    main.appendChild(el('span', 'title', title));
    if (meta) main.appendChild(meta);
    li.appendChild(main);
    li.appendChild(side);
    return li;
  }

  function fillList(list, items, emptyText, build) {
    clear(list);
    if (!items || !items.length) {
      list.appendChild(el('li', 'empty', emptyText));
      return;
    }
    for (var i = 0; i < items.length; i++) list.appendChild(build(items[i]));
  }

  function usageRow(u) {
    var meta = el('span', 'meta', formatDate(u.created_at));
    if (u.task_type) meta.appendChild(el('span', 'task-type', u.task_type));
    var side = el('div', 'side');
    side.appendChild(el('span', 'delta minus', '-' + u.credits_used));
    var li = row('请求' + u.request_image_count + '张，成功' + u.success_image_count + '张', meta, side);
    li.setAttribute('data-kind', 'usage');
    return li;
  }

  function ledgerRow(e) {
    var metaText = formatDate(e.created_at);
    if (e.ref && !LEDGER_REF_HIDDEN[e.reason]) metaText += ' · ' + e.ref;
    var side = el('div', 'side');
    side.appendChild(el('span', 'delta ' + (e.delta < 0 ? 'minus' : 'plus'), signed(e.delta)));
    side.appendChild(el('span', 'sub', '余额 ' + e.balance_after));
    var li = row(LEDGER_REASONS[e.reason] || e.reason, el('span', 'meta', metaText), side);
    li.setAttribute('data-kind', 'ledger');
    li.setAttribute('data-reason', e.reason);
    return li;
  }

  function orderRow(o) {
    var title = o.order_type === 'member' ? '开通会员' : '购买额度' + (o.credits_amount ? ' ' + o.credits_amount + '张' : '');
    var side = el('div', 'side');
    side.appendChild(el('span', 'delta', yuan(o.amount)));
    side.appendChild(el('span', 'status-pill ' + o.status, ORDER_STATUS[o.status] || o.status));
    var li = row(title, el('span', 'meta', formatDate(o.created_at) + ' · ' + o.order_no), side);
    li.setAttribute('data-kind', 'order');
    li.setAttribute('data-status', o.status);
    return li;
  }

  function deviceRow(d) {
    var side = el('div', 'side');
    var button = el('button', 'unbind', '解绑');
    button.type = 'button';
    button.setAttribute('data-device-id', String(d.id));
    button.addEventListener(
      'click',
      function () {
        if (!window.confirm('解绑后，这台电脑需要重新扫码才能使用额度。确定解绑？')) return;
        button.disabled = true;
        api('/user/devices/' + encodeURIComponent(String(d.id)), { method: 'DELETE' }).then(loadDevices, function (err) {
          button.disabled = false;
          if (!err.handled) window.alert(err.message);
        });
      },
      false,
    );
    side.appendChild(button);
    var li = row(d.client, el('span', 'meta', '绑定于 ' + formatDate(d.bound_at)), side);
    li.setAttribute('data-kind', 'device');
    return li;
  }

  function loadDevices() {
    return api('/user/devices').then(function (r) {
      fillList(byId('devices-list'), r.devices, '暂无绑定的电脑', deviceRow);
    });
  }

  function renderInfo(credits, usage, ledger, orders) {
    setText('stat-remaining', credits.remaining_credits);
    setText('stat-used', credits.used_credits);
    setText('stat-total', credits.total_credits);
    var badge = byId('member-badge');
    if (credits.is_member) {
      badge.textContent = credits.member_expire_at ? '会员 · 有效期至 ' + formatDate(credits.member_expire_at) : '终身会员';
      badge.hidden = false;
    } else {
      badge.hidden = true;
    }
    fillList(byId('usage-list'), usage.data, '暂无消费记录', usageRow);
    fillList(byId('ledger-list'), ledger.data, '暂无账单记录', ledgerRow);
    fillList(byId('orders-list'), orders.orders, '暂无订单', orderRow);
  }

  function infoPage() {
    return Promise.all([
      api('/user/credits'),
      api('/user/credits-usage?limit=20'),
      api('/user/credits-ledger?limit=20'),
      api('/payment/orders'),
      api('/user/devices'),
    ]).then(function (r) {
      renderInfo(r[0], r[1], r[2], r[3]);
      fillList(byId('devices-list'), r[4].devices, '暂无绑定的电脑', deviceRow);
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Boot

  var PAGES = { member: memberPage, credits: creditsPage, credits_info: infoPage };

  function boot() {
    var page = document.body.getAttribute('data-page');
    var load = PAGES[page];
    if (!load) return;
    showLoading();
    ensureSession(page)
      .then(load)
      .then(
        function () {
          if (!expired) showContent();
        },
        function (err) {
          if (err && err.handled) return;
          showError((err && err.message) || '加载失败，请稍后重试');
        },
      );
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot, false);
  else boot();
})();
