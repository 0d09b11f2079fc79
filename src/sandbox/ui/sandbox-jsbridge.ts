/**
 * `GET /sandbox/jsbridge.js`: WeChat's `WeixinJSBridge` for an ordinary browser. Vanilla ES5, no
 * dependency, no innerHTML. `invoke('getBrandWCPayRequest', params, cb)`:
 *   1. POSTs the params to `<sandbox>/actions/verify-pay-sign` (the paySign check WeChat's client
 *      does); a refusal → toast + `cb({err_msg:'get_brand_wcpay_request:fail', err_desc})`;
 *   2. shows a pay sheet: amount, description, a notify-mode select and Pay / Fail / Cancel buttons
 *      (ids and data-testid: sandbox-pay-sheet, sandbox-pay-amount, sandbox-pay-description,
 *      sandbox-pay-notify, sandbox-pay-confirm, sandbox-pay-fail, sandbox-pay-cancel, sandbox-pay-status);
 *   3. Pay / Fail → `<sandbox>/actions/pay` → `cb({err_msg:'get_brand_wcpay_request:ok'})` or `:fail`;
 *      Cancel → `cb({err_msg:'get_brand_wcpay_request:cancel'})`.
 * The sandbox base is taken from the script's own URL, so it works wherever the script is served.
 * `WeixinJSBridgeReady` is dispatched on `document` once the bridge exists.
 */
export const JSBRIDGE_JS = `/* WeChat sandbox: WeixinJSBridge for ordinary browsers (never served in production). */
(function () {
  'use strict';
  if (window.WeixinJSBridge && window.WeixinJSBridge.__sandbox) return;
  var script = document.currentScript;
  var base = script && script.src ? script.src.replace(/jsbridge\\.js(\\?.*)?$/, '') : location.origin + '/sandbox/';
  var PREFIX = 'get_brand_wcpay_request';
  var busy = false;

  function post(path, body) {
    return fetch(base + path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().then(function (data) { return { status: res.status, data: data }; }, function () { return { status: res.status, data: null }; });
    });
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var name in attrs) {
      if (Object.prototype.hasOwnProperty.call(attrs, name)) node.setAttribute(name, attrs[name]);
    }
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function detach(node) {
    if (node && node.parentNode) node.parentNode.removeChild(node);
  }

  function toast(text) {
    var node = el('div', {
      id: 'sandbox-pay-toast',
      'data-testid': 'sandbox-pay-toast',
      role: 'alert',
      style: 'position:fixed;left:50%;top:40%;transform:translate(-50%,-50%);background:rgba(0,0,0,.8);color:#fff;padding:12px 18px;border-radius:8px;z-index:2147483647;font-size:15px;max-width:80%'
    }, text);
    document.body.appendChild(node);
    setTimeout(function () { detach(node); }, 3000);
  }

  function yuan(fen) {
    return typeof fen === 'number' ? '\\u00a5' + (fen / 100).toFixed(2) : '';
  }

  var BUTTON = 'display:block;width:100%;margin-top:10px;padding:12px;border:0;border-radius:8px;font-size:16px;cursor:pointer;';

  function openSheet(info, params, done) {
    var overlay = el('div', {
      id: 'sandbox-pay-sheet',
      'data-testid': 'sandbox-pay-sheet',
      role: 'dialog',
      'aria-modal': 'true',
      style: 'position:fixed;inset:0;background:rgba(0,0,0,.5);display:flex;align-items:flex-end;justify-content:center;z-index:2147483646;font-family:-apple-system,BlinkMacSystemFont,sans-serif'
    });
    var card = el('div', { style: 'background:#fff;width:100%;max-width:480px;border-radius:16px 16px 0 0;padding:20px;box-sizing:border-box;text-align:center' });
    card.appendChild(el('div', { style: 'color:#888;font-size:13px' }, '\\u5fae\\u4fe1\\u652f\\u4ed8 \\u00b7 WeChat Pay (sandbox)'));
    card.appendChild(el('div', { id: 'sandbox-pay-amount', 'data-testid': 'sandbox-pay-amount', style: 'font-size:34px;font-weight:600;margin:12px 0' }, yuan(info.amount_fen)));
    card.appendChild(el('div', { id: 'sandbox-pay-description', 'data-testid': 'sandbox-pay-description', style: 'color:#333;margin-bottom:10px' }, info.description || ''));
    var select = el('select', { id: 'sandbox-pay-notify', 'data-testid': 'sandbox-pay-notify', style: 'margin:6px 0;padding:4px' });
    var modes = [['now', 'notify now'], ['never', 'never notify'], ['late', 'notify late (2 s)'], ['duplicate', 'notify 3\\u00d7 at once']];
    for (var i = 0; i < modes.length; i++) select.appendChild(el('option', { value: modes[i][0] }, modes[i][1]));
    card.appendChild(select);
    var status = el('div', { id: 'sandbox-pay-status', 'data-testid': 'sandbox-pay-status', style: 'min-height:18px;color:#c33;font-size:13px' });
    card.appendChild(status);
    var pay = el('button', { type: 'button', id: 'sandbox-pay-confirm', 'data-testid': 'sandbox-pay-confirm', style: BUTTON + 'background:#07c160;color:#fff' }, '\\u652f\\u4ed8 Pay');
    var fail = el('button', { type: 'button', id: 'sandbox-pay-fail', 'data-testid': 'sandbox-pay-fail', style: BUTTON + 'background:#fef2f2;color:#c33' }, '\\u6a21\\u62df\\u5931\\u8d25 Fail');
    var cancel = el('button', { type: 'button', id: 'sandbox-pay-cancel', 'data-testid': 'sandbox-pay-cancel', style: BUTTON + 'background:#f2f2f2;color:#333' }, '\\u53d6\\u6d88 Cancel');
    card.appendChild(pay);
    card.appendChild(fail);
    card.appendChild(cancel);
    overlay.appendChild(card);

    var finished = false;
    function finish(res) {
      if (finished) return;
      finished = true;
      detach(overlay);
      done(res);
    }
    function disable() {
      pay.disabled = true;
      fail.disabled = true;
      cancel.disabled = true;
    }
    function act(result) {
      disable();
      status.textContent = '\\u5904\\u7406\\u4e2d\\u2026';
      post('actions/pay', { prepay_id: params['package'], result: result, notify: select.value }).then(function (r) {
        if (result === 'success' && r.data && r.data.ok) finish({ err_msg: PREFIX + ':ok' });
        else finish({ err_msg: PREFIX + ':fail', err_desc: (r.data && r.data.error) || '\\u652f\\u4ed8\\u5931\\u8d25' });
      }, function () {
        finish({ err_msg: PREFIX + ':fail', err_desc: 'network error' });
      });
    }
    pay.addEventListener('click', function () { act('success'); });
    fail.addEventListener('click', function () { act('fail'); });
    cancel.addEventListener('click', function () {
      disable();
      post('actions/pay', { prepay_id: params['package'], result: 'cancel' }).then(null, function () {});
      finish({ err_msg: PREFIX + ':cancel' });
    });
    document.body.appendChild(overlay);
  }

  function invoke(name, params, cb) {
    var callback = typeof cb === 'function' ? cb : function () {};
    function reply(res) { setTimeout(function () { callback(res); }, 0); }
    if (name !== 'getBrandWCPayRequest') {
      reply({ err_msg: name + ':fail_not_supported_in_sandbox' });
      return;
    }
    if (busy) {
      reply({ err_msg: PREFIX + ':fail', err_desc: 'another payment is in progress' });
      return;
    }
    busy = true;
    post('actions/verify-pay-sign', params || {}).then(function (r) {
      if (!r.data || !r.data.ok) {
        busy = false;
        var reason = (r.data && r.data.error) || '\\u652f\\u4ed8\\u9a8c\\u8bc1\\u7b7e\\u540d\\u5931\\u8d25';
        toast(reason);
        reply({ err_msg: PREFIX + ':fail', err_desc: reason });
        return;
      }
      openSheet(r.data, params, function (res) {
        busy = false;
        reply(res);
      });
    }, function () {
      busy = false;
      reply({ err_msg: PREFIX + ':fail', err_desc: 'network error' });
    });
  }

  window.WeixinJSBridge = {
    __sandbox: true,
    invoke: invoke,
    call: function () {},
    on: function () {}
  };
  setTimeout(function () {
    var ev;
    try {
      ev = new Event('WeixinJSBridgeReady', { bubbles: true });
    } catch (e) {
      ev = document.createEvent('Event');
      ev.initEvent('WeixinJSBridgeReady', true, false);
    }
    document.dispatchEvent(ev);
  }, 0);
})();
`;
