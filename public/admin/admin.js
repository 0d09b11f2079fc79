/*
 * The operator console's one script (public/admin/): the login page (index.html) and the console
 * (console.html). No framework, no CDN; every server value is written with textContent or
 * createElement, never innerHTML. The session is an HttpOnly cookie the script never sees; every
 * state-changing call sends the session's CSRF token (X-CSRF-Token) from GET /console/session.
 */
(function () {
  'use strict';

  var API = '/api/v1/console';
  var POLL_MS = 1500;
  var csrf = '';

  // ---------------------------------------------------------------------------------------------
  // helpers

  function byId(id) {
    return document.getElementById(id);
  }

  function el(tag, className, text) {
    var n = document.createElement(tag);
    if (className) n.className = className;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }

  function clear(n) {
    while (n && n.firstChild) n.removeChild(n.firstChild);
  }

  function setText(id, text) {
    var n = byId(id);
    if (n) n.textContent = text === null || text === undefined ? '' : String(text);
  }

  function yuan(fen) {
    return '¥' + (Number(fen) / 100).toFixed(2);
  }

  function shortTime(iso) {
    if (!iso) return '';
    var m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)/.exec(String(iso));
    return m ? m[1] + ' ' + m[2] : String(iso);
  }

  /** 128 random bits as hex: the idempotency key of one adjustment or refund (kept for its retries). */
  function newRequestId() {
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    var s = '';
    for (var i = 0; i < b.length; i++) s += (b[i] < 16 ? '0' : '') + b[i].toString(16);
    return s;
  }

  function api(method, path, body) {
    var headers = { Accept: 'application/json' };
    if (method !== 'GET') {
      headers['Content-Type'] = 'application/json';
      if (csrf) headers['X-CSRF-Token'] = csrf;
    }
    return fetch(API + path, {
      method: method,
      headers: headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (res) {
      return res.json().then(
        function (data) {
          return { status: res.status, data: data };
        },
        function () {
          return { status: res.status, data: {} };
        },
      );
    });
  }

  /** A 2xx body, or a rejection with the server's detail (401 goes back to the login page). */
  function call(method, path, body) {
    return api(method, path, body).then(function (r) {
      if (r.status === 401) {
        window.location.replace('index.html');
        throw new Error('请先登录');
      }
      if (r.status < 200 || r.status >= 300) throw new Error((r.data && r.data.detail) || 'HTTP ' + r.status);
      return r.data;
    });
  }

  var toastTimer = null;
  function toast(text, kind) {
    var t = byId('toast');
    t.textContent = text;
    t.setAttribute('data-kind', kind || 'info');
    t.hidden = false;
    if (toastTimer) clearTimeout(toastTimer);
    toastTimer = setTimeout(function () {
      t.hidden = true;
    }, 4000);
  }

  function fail(err) {
    toast(err && err.message ? err.message : String(err), 'error');
  }

  function tag(text, status) {
    var t = el('span', 'tag', text);
    t.setAttribute('data-status', status || text);
    return t;
  }

  // ---------------------------------------------------------------------------------------------
  // login page

  function loginPage() {
    var img = byId('login-qr');
    var status = byId('login-status');
    var refresh = byId('login-refresh');
    var timer = null;

    function state(s, text) {
      status.setAttribute('data-state', s);
      status.textContent = text;
    }

    function poll() {
      api('POST', '/login/poll', {}).then(
        function (r) {
          var s = r.data && r.data.status;
          if (s === 'approved') {
            state('approved', '登录成功，正在进入…');
            window.location.replace('console.html');
            return;
          }
          if (s === 'waiting') {
            timer = setTimeout(poll, POLL_MS);
            return;
          }
          img.hidden = true;
          byId('login-qr-link').hidden = true;
          refresh.hidden = false;
          if (s === 'refused') state('refused', '该微信号没有运营后台权限，本次尝试已记录。');
          else if (r.status >= 400) state('error', (r.data && r.data.detail) || '登录失败');
          else state('expired', '二维码已失效，请刷新。');
        },
        function () {
          timer = setTimeout(poll, POLL_MS * 2);
        },
      );
    }

    function start() {
      if (timer) clearTimeout(timer);
      refresh.hidden = true;
      byId('login-qr-link').hidden = true;
      img.hidden = true;
      byId('login-loading').hidden = false;
      state('waiting', '');
      api('POST', '/login/qr', {}).then(
        function (r) {
          byId('login-loading').hidden = true;
          if (r.status !== 200) {
            state('error', (r.data && r.data.detail) || '生成二维码失败');
            refresh.hidden = false;
            return;
          }
          var link = byId('login-qr-link');
          link.href = r.data.qrcode_url;
          link.hidden = true;
          // WeChat's showqrcode answers the image; the local sandbox answers a page with a "scan as…" form.
          img.onerror = function () {
            img.hidden = true;
            link.hidden = false;
          };
          img.src = r.data.qrcode_url;
          img.hidden = false;
          state('waiting', '请用微信扫码，并在手机上确认');
          timer = setTimeout(poll, POLL_MS);
        },
        function () {
          state('error', '网络错误');
          refresh.hidden = false;
        },
      );
    }

    refresh.addEventListener('click', start);
    // Already logged in: straight to the console.
    api('GET', '/session').then(function (r) {
      if (r.status === 200) window.location.replace('console.html');
      else start();
    }, start);
  }

  // ---------------------------------------------------------------------------------------------
  // console: navigation

  var views = {};

  function show(name) {
    if (!views[name]) name = 'dashboard';
    var sections = document.querySelectorAll('.view');
    for (var i = 0; i < sections.length; i++) sections[i].hidden = sections[i].id !== 'view-' + name;
    var links = document.querySelectorAll('#nav a');
    for (var j = 0; j < links.length; j++) links[j].className = links[j].getAttribute('data-view') === name ? 'active' : '';
    views[name]();
  }

  function route() {
    show((window.location.hash || '#dashboard').slice(1).split('?')[0]);
  }

  // ---------------------------------------------------------------------------------------------
  // dashboard

  views.dashboard = function () {
    call('GET', '/dashboard?days=30').then(function (d) {
      var s = d.series;
      var last = d.days.length - 1;
      var sum = function (a) {
        return a.reduce(function (x, y) {
          return x + y;
        }, 0);
      };
      setText('kpi-revenue-today', yuan(s.revenue_fen[last]));
      setText('kpi-revenue-range', yuan(sum(s.revenue_fen)));
      setText('kpi-orders-today', s.orders_paid[last] + ' / ' + s.orders_failed[last] + ' / ' + s.orders_closed[last]);
      setText('kpi-followers-today', s.new_followers[last]);
      setText('kpi-bindings-today', s.desktop_bindings[last]);
      setText('kpi-credits-today', s.credits_sold[last] + ' / ' + s.credits_consumed[last]);
      setText('kpi-anomalies', d.open_anomalies);
      var r = d.last_reconciliation;
      setText(
        'kpi-reconciliation',
        r ? r.bill_date + ' · ' + (r.status === 'done' ? (r.differences || 0) + ' 处差异' : r.status) : '尚未运行',
      );
      var money = function (v) {
        return (v / 100).toFixed(0);
      };
      var C = window.ConsoleChart;
      C.bars(byId('chart-revenue'), d.days, [{ name: '收入', values: s.revenue_fen }], { format: money, label: '收入' });
      C.bars(
        byId('chart-orders'),
        d.days,
        [
          { name: '成功', values: s.orders_paid },
          { name: '失败', values: s.orders_failed, className: 's-bad' },
          { name: '关闭', values: s.orders_closed, className: 's-muted' },
        ],
        { label: '订单' },
      );
      C.bars(
        byId('chart-growth'),
        d.days,
        [
          { name: '新关注', values: s.new_followers },
          { name: '电脑绑定', values: s.desktop_bindings, className: 's-blue' },
        ],
        { label: '新关注与电脑绑定' },
      );
      C.bars(
        byId('chart-credits'),
        d.days,
        [
          { name: '售出', values: s.credits_sold },
          { name: '消耗', values: s.credits_consumed, className: 's-bad' },
        ],
        { label: '额度' },
      );
      document.body.setAttribute('data-dashboard', 'ready');
    }, fail);
  };

  // ---------------------------------------------------------------------------------------------
  // user view

  var currentUser = null;
  var adjustRequestId = null;

  views.user = function () {
    var m = /[?&](openid|client_id|order_no)=([^&]+)/.exec(window.location.hash);
    if (m) {
      byId('user-by').value = m[1];
      byId('user-q').value = decodeURIComponent(m[2]);
      lookup();
    }
  };

  function lookup() {
    var by = byId('user-by').value;
    var q = byId('user-q').value.trim();
    if (!q) return;
    call('GET', '/users?' + by + '=' + encodeURIComponent(q)).then(renderUser, function (err) {
      byId('user-result').hidden = true;
      fail(err);
    });
  }

  function reloadUser() {
    if (!currentUser) return;
    call('GET', '/users?openid=' + encodeURIComponent(currentUser)).then(renderUser, fail);
  }

  function renderUser(d) {
    var u = d.user;
    currentUser = u.openid;
    byId('user-result').hidden = false;
    setText('user-openid', u.openid);
    setText('user-member', u.is_member ? (u.member_lifetime ? '永久会员' : '会员至 ' + shortTime(u.member_expire_at)) : '否');
    setText('user-subscribed', u.subscribed ? '已关注' : '未关注');
    setText('user-balance', u.remaining_credits);
    setText('user-used-total', u.used_credits + ' / ' + u.total_credits);
    setText('user-paid', '¥' + Number(u.total_paid_amount).toFixed(2));

    var bl = byId('user-bindings');
    clear(bl);
    if (!d.bindings.length) bl.appendChild(el('li', 'meta', '无'));
    d.bindings.forEach(function (b) {
      var li = el('li');
      li.appendChild(el('span', 'grow', b.client_id));
      li.appendChild(tag(b.status));
      li.appendChild(el('span', 'meta', shortTime(b.completed_at)));
      if (b.status === 'completed') {
        var btn = el('button', 'btn btn-small', '解绑');
        btn.type = 'button';
        btn.setAttribute('data-binding', String(b.id));
        btn.addEventListener('click', function () {
          if (btn.getAttribute('data-confirm') !== '1') {
            btn.setAttribute('data-confirm', '1');
            btn.textContent = '确认解绑';
            return;
          }
          btn.disabled = true;
          call('POST', '/users/unbind', { openid: currentUser, binding_id: b.id }).then(
            function () {
              toast('已解绑');
              reloadUser();
            },
            function (e) {
              btn.disabled = false;
              fail(e);
            },
          );
        });
        li.appendChild(btn);
      }
      bl.appendChild(li);
    });

    var ol = byId('user-orders');
    clear(ol);
    if (!d.orders.length) ol.appendChild(el('li', 'meta', '无'));
    d.orders.forEach(function (o) {
      var li = el('li');
      li.setAttribute('data-order', o.order_no);
      var main = el('span', 'grow');
      main.appendChild(el('div', '', o.order_no));
      main.appendChild(
        el(
          'div',
          'meta',
          (o.order_type === 'member' ? '会员' : o.credits_amount + ' 额度') +
            ' · ' +
            shortTime(o.created_at) +
            (o.transaction_id ? ' · 微信 ' + o.transaction_id : ''),
        ),
      );
      (o.refunds || []).forEach(function (r) {
        var line = el(
          'div',
          'meta refund-line',
          '退款 ' + yuan(r.amount_fen) + ' · ' + r.status + (r.credits_taken !== null ? ' · 扣回 ' + r.credits_taken + ' 额度' : ''),
        );
        line.setAttribute('data-refund-status', r.status);
        main.appendChild(line);
      });
      li.appendChild(main);
      li.appendChild(el('span', 'amount', '¥' + Number(o.amount).toFixed(2)));
      li.appendChild(tag(o.status));
      if (o.status === 'paid') {
        var btn = el('button', 'btn btn-small refund-open', '退款');
        btn.type = 'button';
        btn.addEventListener('click', function () {
          openRefund(o.order_no);
        });
        li.appendChild(btn);
      }
      ol.appendChild(li);
    });

    var ll = byId('user-ledger');
    clear(ll);
    d.ledger.forEach(function (l) {
      var li = el('li');
      li.appendChild(el('span', 'grow', l.reason + (l.ref ? ' · ' + l.ref : '')));
      li.appendChild(el('span', 'amount ' + (l.delta >= 0 ? 'pos' : 'neg'), (l.delta > 0 ? '+' : '') + l.delta));
      li.appendChild(el('span', 'meta', '余 ' + l.balance_after + ' · ' + shortTime(l.created_at)));
      ll.appendChild(li);
    });
    renderAudit(byId('user-audit'), d.audit || []);
  }

  function renderAudit(list, entries) {
    clear(list);
    if (!entries.length) list.appendChild(el('li', 'meta', '无'));
    entries.forEach(function (a) {
      var li = el('li');
      li.appendChild(tag(a.action, a.action.indexOf('refused') >= 0 ? 'error' : 'ok'));
      li.appendChild(el('span', 'grow', (a.target || '') + ' ' + (a.after ? JSON.stringify(a.after) : '')));
      li.appendChild(el('span', 'meta', a.operator_openid + ' · ' + shortTime(a.created_at) + ' · ' + a.request_id));
      list.appendChild(li);
    });
  }

  // ---------------------------------------------------------------------------------------------
  // refund dialog

  var refundOrder = null;
  var refundRequestId = null;
  var previewTimer = null;

  function amountFen() {
    var v = byId('refund-amount').value.trim();
    if (!/^\d+(\.\d{1,2})?$/.test(v)) return null;
    var parts = v.split('.');
    var fen = Number(parts[0]) * 100 + Number(((parts[1] || '') + '00').slice(0, 2));
    return fen > 0 ? fen : null;
  }

  function preview() {
    var fen = amountFen();
    var out = byId('refund-preview');
    if (!fen) {
      out.textContent = '请输入退款金额';
      return;
    }
    call('GET', '/orders/' + encodeURIComponent(refundOrder) + '/refund-preview?amount_fen=' + fen).then(
      function (p) {
        out.setAttribute('data-credits', String(p.credits_taken));
        out.textContent =
          fen > p.refundable_fen
            ? '超过可退金额 ' + yuan(p.refundable_fen)
            : '将退款 ' +
              yuan(fen) +
              '，扣回 ' +
              p.credits_taken +
              ' 额度' +
              (p.credits_due > p.credits_taken ? '（应扣 ' + p.credits_due + '，余额不足）' : '') +
              '；用户当前余额 ' +
              p.remaining_credits +
              '。';
      },
      function (e) {
        out.textContent = e.message;
      },
    );
  }

  function openRefund(orderNo) {
    refundOrder = orderNo;
    refundRequestId = newRequestId();
    call('GET', '/orders/' + encodeURIComponent(orderNo) + '/refund-preview').then(function (p) {
      setText('refund-order', orderNo);
      setText('refund-refundable', yuan(p.refundable_fen));
      byId('refund-amount').value = (p.refundable_fen / 100).toFixed(2);
      byId('refund-note').value = '';
      byId('refund-confirm').disabled = false;
      byId('refund-dialog').hidden = false;
      preview();
    }, fail);
  }

  function closeRefund() {
    byId('refund-dialog').hidden = true;
    refundOrder = null;
  }

  function submitRefund(ev) {
    ev.preventDefault();
    var fen = amountFen();
    if (!fen || !refundOrder) return;
    var btn = byId('refund-confirm');
    btn.disabled = true;
    call('POST', '/orders/' + encodeURIComponent(refundOrder) + '/refund', {
      amount_fen: fen,
      note: byId('refund-note').value.trim(),
      request_id: refundRequestId,
    }).then(
      function (r) {
        toast('已提交退款 ' + r.refund.refund_no + '（' + r.refund.status + '）');
        closeRefund();
        reloadUser();
      },
      function (e) {
        btn.disabled = false;
        fail(e);
      },
    );
  }

  // ---------------------------------------------------------------------------------------------
  // anomalies, reconciliation, jobs, menu, audit

  views.anomalies = function () {
    var status = byId('anomaly-status').value;
    var kind = byId('anomaly-kind').value.trim();
    call('GET', '/anomalies?status=' + status + (kind ? '&kind=' + encodeURIComponent(kind) : '')).then(function (d) {
      var list = byId('anomaly-list');
      clear(list);
      if (!d.anomalies.length) list.appendChild(el('li', 'meta', '无'));
      d.anomalies.forEach(function (a) {
        var li = el('li');
        li.setAttribute('data-anomaly', String(a.id));
        li.appendChild(tag(a.kind, a.resolved_at ? 'ok' : 'error'));
        var main = el('span', 'grow');
        main.appendChild(el('div', '', a.order_no + ' · ' + (a.detail || '')));
        main.appendChild(
          el(
            'div',
            'meta',
            shortTime(a.created_at) + (a.resolved_at ? ' · 已处理 ' + shortTime(a.resolved_at) + ' · ' + (a.resolution_note || '') : ''),
          ),
        );
        li.appendChild(main);
        if (!a.resolved_at) {
          var form = el('form', 'inline-form');
          var note = el('input');
          note.placeholder = '处理说明';
          note.required = true;
          var btn = el('button', 'btn btn-small', '标记已处理');
          btn.type = 'submit';
          form.appendChild(note);
          form.appendChild(btn);
          form.addEventListener('submit', function (ev) {
            ev.preventDefault();
            btn.disabled = true;
            call('POST', '/anomalies/' + a.id + '/resolve', { note: note.value.trim() }).then(
              function () {
                toast('已标记处理');
                views.anomalies();
              },
              function (e) {
                btn.disabled = false;
                fail(e);
              },
            );
          });
          li.appendChild(form);
        }
        list.appendChild(li);
      });
    }, fail);
  };

  function renderDifferences(title, diffs) {
    byId('reconcile-report').hidden = false;
    setText('reconcile-title', title);
    var list = byId('reconcile-differences');
    clear(list);
    if (!diffs.length) list.appendChild(el('li', 'meta', '无差异'));
    diffs.forEach(function (d) {
      var li = el('li');
      li.appendChild(tag(d.kind, 'error'));
      li.appendChild(
        el(
          'span',
          'grow',
          d.order_no +
            ' · ' +
            (d.detail ||
              '微信 ' +
                d.wechat_amount_fen +
                ' 分，本地 ' +
                d.our_amount_fen +
                ' 分（' +
                d.our_status +
                '）' +
                (d.applied ? ' · 已补入账' : '')),
        ),
      );
      list.appendChild(li);
    });
  }

  views.reconciliation = function () {
    var date = byId('reconcile-date');
    if (!date.value) date.value = new Date(Date.now() + 8 * 3600000 - 86400000).toISOString().slice(0, 10);
    call('GET', '/reconciliation').then(function (d) {
      var list = byId('reconcile-runs');
      clear(list);
      if (!d.runs.length) list.appendChild(el('li', 'meta', '尚无记录'));
      d.runs.forEach(function (r) {
        var li = el('li');
        li.appendChild(el('span', 'grow', r.bill_date));
        li.appendChild(tag(r.status, r.status === 'done' ? 'ok' : ''));
        li.appendChild(el('span', 'meta', (r.differences === null ? '-' : r.differences + ' 处差异') + ' · ' + shortTime(r.finished_at)));
        var btn = el('button', 'btn btn-small', '差异');
        btn.type = 'button';
        btn.addEventListener('click', function () {
          call('GET', '/reconciliation/' + r.bill_date).then(function (x) {
            renderDifferences(r.bill_date + ' 的差异', x.differences);
          }, fail);
        });
        li.appendChild(btn);
        list.appendChild(li);
      });
    }, fail);
  };

  views.jobs = function () {
    call('GET', '/jobs').then(function (d) {
      var list = byId('job-list');
      clear(list);
      d.jobs.forEach(function (j) {
        var li = el('li');
        li.appendChild(el('span', 'grow', j.name));
        li.appendChild(tag(j.outcome));
        li.appendChild(el('span', 'meta', shortTime(j.finished_at || j.started_at) + (j.detail ? ' · ' + j.detail : '')));
        list.appendChild(li);
      });
    }, fail);
  };

  views.menu = function () {
    call('GET', '/menu').then(function (d) {
      setText('menu-live', JSON.stringify(d.live, null, 2));
      setText('menu-configured', JSON.stringify(d.configured, null, 2));
    }, fail);
  };

  views.audit = function () {
    call('GET', '/audit').then(function (d) {
      renderAudit(byId('audit-list'), d.entries);
    }, fail);
  };

  // ---------------------------------------------------------------------------------------------
  // console page

  function consolePage() {
    api('GET', '/session').then(function (r) {
      if (r.status !== 200) {
        window.location.replace('index.html');
        return;
      }
      csrf = r.data.csrf_token;
      setText('who', r.data.openid.slice(0, 6) + '…');
      window.addEventListener('hashchange', route);
      route();
    }, fail);

    byId('logout').addEventListener('click', function () {
      call('POST', '/logout', {}).then(function () {
        window.location.replace('index.html');
      }, fail);
    });
    byId('user-search').addEventListener('submit', function (ev) {
      ev.preventDefault();
      lookup();
    });
    byId('adjust-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var delta = Number(byId('adjust-delta').value);
      if (!currentUser || !delta || Math.floor(delta) !== delta) return;
      // One key per distinct adjustment: a retry of the same form after a network error applies once.
      var key = currentUser + '|' + delta + '|' + byId('adjust-reason').value;
      if (!adjustRequestId || adjustRequestId.key !== key) adjustRequestId = { key: key, id: newRequestId() };
      call('POST', '/users/adjust', {
        openid: currentUser,
        delta: delta,
        reason: byId('adjust-reason').value.trim(),
        request_id: adjustRequestId.id,
      }).then(function (r) {
        adjustRequestId = null;
        byId('adjust-delta').value = '';
        byId('adjust-reason').value = '';
        toast('额度已调整，剩余 ' + r.remaining_credits);
        reloadUser();
      }, fail);
    });
    byId('anomaly-filter').addEventListener('submit', function (ev) {
      ev.preventDefault();
      views.anomalies();
    });
    byId('reconcile-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var date = byId('reconcile-date').value;
      call('POST', '/reconciliation/' + date + '/run', {}).then(function (r) {
        renderDifferences(date + '：账单 ' + r.bill_lines + ' 行，匹配 ' + r.matched, r.differences);
        views.reconciliation();
      }, fail);
    });
    byId('menu-publish').addEventListener('click', function () {
      var btn = byId('menu-publish');
      if (btn.getAttribute('data-confirm') !== '1') {
        btn.setAttribute('data-confirm', '1');
        btn.textContent = '确认发布到公众号';
        return;
      }
      btn.disabled = true;
      call('POST', '/menu/publish', {}).then(
        function () {
          toast('菜单已发布');
          btn.disabled = false;
          btn.removeAttribute('data-confirm');
          btn.textContent = '发布配置的菜单';
          views.menu();
        },
        function (e) {
          btn.disabled = false;
          fail(e);
        },
      );
    });
    byId('refund-amount').addEventListener('input', function () {
      if (previewTimer) clearTimeout(previewTimer);
      previewTimer = setTimeout(preview, 250);
    });
    byId('refund-cancel').addEventListener('click', closeRefund);
    byId('refund-form').addEventListener('submit', submitRefund);
  }

  var page = document.body.getAttribute('data-page');
  if (page === 'login') loginPage();
  else if (page === 'console') consolePage();
})();
