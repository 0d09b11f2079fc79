import type { SandboxFaults } from '../core/sandbox-faults';
import { esc, formatTime, layout, POST_JSON_JS } from '../core/sandbox-html';
import type { DeliveryRecord, SandboxOrder, SandboxUser } from '../core/sandbox-records';

/**
 * The sandbox's home page. Server-rendered; every dynamic value is escaped with `esc`, and the
 * small inline script takes its inputs from data attributes and writes with `textContent` only.
 */

export interface HomePageInput {
  memberPages: Array<{ label: string; href: string }>;
  oauthLink: (page: string, state: string, openid: string) => string;
  users: SandboxUser[];
  orders: SandboxOrder[];
  deliveries: DeliveryRecord[];
  faults: SandboxFaults;
  stats: Record<string, number>;
  info: Record<string, string>;
  suggestedOpenid: string;
  suggestedClientId: string;
}

const HOME_JS = `${POST_JSON_JS}
var demo = document.getElementById('demo');
var qrOut = document.getElementById('demo-qr');
var followOut = document.getElementById('demo-follow');
var scanOut = document.getElementById('demo-scan-result');
var qrLink = document.getElementById('demo-qr-link');
var ticket = null, pollTimer = null, pollUntil = 0;
function apiError(r) {
  if (r.status === 404) return '应用接口不可用 (404) / app endpoint not available yet';
  return 'HTTP ' + r.status + ': ' + (r.data && r.data.detail ? r.data.detail : JSON.stringify(r.data));
}
function poll() {
  var clientId = document.getElementById('demo-client-id').value.trim();
  fetch('/api/v1/auth/wechat/check-follow?client_id=' + encodeURIComponent(clientId))
    .then(function (res) { return res.json().catch(function () { return null; }).then(function (d) { return { status: res.status, data: d }; }); })
    .then(function (r) {
      if (r.status !== 200) { show(followOut, apiError(r)); followOut.className = 'err'; }
      else { followOut.className = r.data.subscribed ? 'ok' : ''; show(followOut, (r.data.subscribed ? '✓ subscribed / 已关注并绑定 ' : '… waiting for a scan / 等待扫码 ') + JSON.stringify(r.data)); }
    }, function (e) { show(followOut, String(e)); followOut.className = 'err'; })
    .then(function () { if (Date.now() < pollUntil) pollTimer = setTimeout(poll, 2000); });
}
document.getElementById('demo-create').addEventListener('click', function () {
  var clientId = document.getElementById('demo-client-id').value.trim();
  show(qrOut, '…'); qrOut.className = '';
  postJson('/api/v1/auth/wechat/qrcode', { client_id: clientId }).then(function (r) {
    if (r.status !== 200 || !r.data || !r.data.ticket) { qrOut.className = 'err'; show(qrOut, apiError(r)); return; }
    ticket = r.data.ticket;
    show(qrOut, r.data);
    if (typeof r.data.qrcode_url === 'string' && /^https?:\\/\\//.test(r.data.qrcode_url)) { qrLink.href = r.data.qrcode_url; qrLink.style.display = ''; }
    clearTimeout(pollTimer); pollUntil = Date.now() + 5 * 60 * 1000; poll();
  }, function (e) { qrOut.className = 'err'; show(qrOut, String(e)); });
});
document.getElementById('demo-scan').addEventListener('click', function () {
  if (!ticket) { show(scanOut, '先生成二维码 / create a QR code first'); return; }
  var body = { ticket: ticket, openid: document.getElementById('demo-openid').value.trim() };
  var sub = subscribedValue(document.getElementById('demo-subscribed'));
  if (sub !== undefined) body.subscribed = sub;
  show(scanOut, '…');
  postJson(demo.getAttribute('data-scan-action'), body).then(function (r) { show(scanOut, r); if (pollUntil > Date.now()) { clearTimeout(pollTimer); poll(); } }, function (e) { show(scanOut, String(e)); });
});
`;

function json(value: unknown): string {
  return `<pre>${esc(JSON.stringify(value, null, 2))}</pre>`;
}

export function renderHomePage(input: HomePageInput): string {
  const pages = input.memberPages
    .map((p) => `<a class="btn" data-testid="sandbox-member-link" href="${esc(p.href)}">${esc(p.label)}</a>`)
    .join(' ');
  const users = input.users.length
    ? `<table data-testid="sandbox-users"><tr><th>openid</th><th>关注 following</th><th>首次 first seen</th><th>打开页面 open pages as</th></tr>${input.users
        .slice(0, 50)
        .map(
          (u) =>
            `<tr><td><code>${esc(u.openid)}</code></td><td>${u.subscribed ? '✓' : '—'}</td><td>${esc(formatTime(u.firstSeen))} (${esc(u.via)})</td><td>` +
            `<a href="${esc(input.oauthLink('member.html', 'member', u.openid))}">member</a> · ` +
            `<a href="${esc(input.oauthLink('credits.html', 'credits', u.openid))}">credits</a> · ` +
            `<a href="${esc(input.oauthLink('credits_info.html', 'credits_info', u.openid))}">credits_info</a></td></tr>`,
        )
        .join('')}</table>`
    : '<p class="muted">还没有测试用户 / no sandbox user yet (log in through a member page or scan a QR code)</p>';
  const orders = input.orders.length
    ? `<table data-testid="sandbox-orders"><tr><th>out_trade_no</th><th>ver</th><th>amount</th><th>state</th><th>openid</th><th>created</th></tr>${input.orders
        .slice(0, 20)
        .map(
          (o) =>
            `<tr><td><code>${esc(o.outTradeNo)}</code></td><td>${esc(o.version)}</td><td>¥${esc((o.totalFen / 100).toFixed(2))}</td><td>${esc(o.state)}</td><td><code>${esc(
              o.openid,
            )}</code></td><td>${esc(formatTime(o.createdAt))}</td></tr>`,
        )
        .join('')}</table>`
    : '<p class="muted">还没有订单 / no prepay order yet</p>';
  const deliveries = input.deliveries.length
    ? `<table data-testid="sandbox-deliveries"><tr><th>time</th><th>kind</th><th>what</th><th>state</th><th>app answered (last attempt)</th></tr>${input.deliveries
        .slice(0, 20)
        .map((d) => {
          const last = d.attempts[d.attempts.length - 1];
          const answer = last ? (last.error ? `error: ${last.error}` : `HTTP ${last.status}\n${last.answer ?? ''}`) : '';
          return `<tr><td>${esc(formatTime(d.createdAt))}</td><td>${esc(d.kind)}</td><td>${esc(d.summary)}<br><span class="muted">${esc(d.target)}</span></td><td>${esc(
            d.state,
          )} (${d.attempts.length})</td><td><pre>${esc(answer)}</pre></td></tr>`;
        })
        .join('')}</table>`
    : '<p class="muted">还没有发送过通知 / nothing sent yet</p>';
  return layout(
    'WeChat sandbox',
    `<h1>微信沙箱 · WeChat sandbox</h1>
<div class="card"><h2>会员页面 · Member pages (through the sandbox OAuth)</h2><div class="row">${pages}</div>
<p class="muted">每个链接先打开沙箱的授权页，选择或输入测试用户后跳转到页面。Each link opens the sandbox OAuth page; pick a test user and you land on the page.</p></div>
<div class="card" id="demo" data-scan-action="/sandbox/actions/scan"><h2>电脑端绑定演示 · Desktop binding demo</h2>
<div class="row"><label>client_id <input type="text" id="demo-client-id" data-testid="demo-client-id" value="${esc(input.suggestedClientId)}"></label>
<button type="button" id="demo-create" data-testid="demo-create">生成二维码 · Create QR</button>
<a id="demo-qr-link" data-testid="demo-qr-link" class="btn" style="display:none" target="_blank" rel="noopener">打开二维码 · open QR</a></div>
<pre id="demo-qr" data-testid="demo-qr"></pre>
<div class="row"><label>scan as openid <input type="text" id="demo-openid" data-testid="demo-openid" value="${esc(input.suggestedOpenid)}"></label>
<select id="demo-subscribed" data-testid="demo-subscribed"><option value="auto">关注状态：自动 / remembered</option><option value="no">未关注 / not following</option><option value="yes">已关注 / following</option></select>
<button type="button" class="green" id="demo-scan" data-testid="demo-scan">扫码 · Scan</button></div>
<pre id="demo-scan-result" data-testid="demo-scan-result"></pre>
<p>check-follow: <span id="demo-follow" data-testid="demo-follow">—</span></p></div>
<div class="card"><h2>测试用户 · Sandbox users</h2>${users}</div>
<div class="card"><h2>最近的通知 · Last notifications and pushes</h2>${deliveries}</div>
<div class="card"><h2>预支付订单 · Prepay orders</h2>${orders}</div>
<div class="card"><h2>设置 · Settings</h2>${json(input.info)}<h2>故障开关 · Fault knobs (POST /sandbox/faults)</h2>${json(input.faults)}
<h2>统计 · Stats (GET /sandbox/stats)</h2>${json(input.stats)}</div>`,
    HOME_JS,
  );
}
