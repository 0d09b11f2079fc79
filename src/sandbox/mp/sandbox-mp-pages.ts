import { esc, formatTime, layout, POST_JSON_JS } from '../core/sandbox-html';
import type { QrTicket, SandboxUser } from '../core/sandbox-records';

/**
 * The official-account side's HTML pages: WeChat's OAuth "Log in as…" page and the `showqrcode`
 * page. Server-rendered; every dynamic value is escaped with `esc`, and the small inline script takes
 * its inputs from data attributes and writes with `textContent` only.
 */

function query(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

// --- OAuth "Log in as…" ------------------------------------------------------------------------

export interface OAuthPageInput {
  params: Record<string, string>;
  users: SandboxUser[];
  suggested: string;
  target: string;
}

export function renderOAuthPage(input: OAuthPageInput): string {
  const { params, users, suggested, target } = input;
  const hidden = Object.entries(params)
    .map(([name, value]) => `<input type="hidden" name="${esc(name)}" value="${esc(value)}">`)
    .join('');
  const known = users.length
    ? `<div class="row">${users
        .slice(0, 20)
        .map(
          (u) =>
            `<a class="btn" data-testid="sandbox-login-user" href="authorize?${esc(query({ ...params, sandbox_openid: u.openid }))}">${esc(u.openid)}${
              u.subscribed ? ' ✓' : ''
            }</a>`,
        )
        .join('')}</div>`
    : '<p class="muted">还没有测试用户 / no test user yet</p>';
  return layout(
    '微信授权 · Log in as…',
    `<h1>微信授权登录 · Log in as…</h1>
<div class="card"><p><b>${esc(new URL(target).host)}</b> 请求获取你的身份（${esc(params.scope)}）/ asks who you are.</p>
<p class="muted">Redirects to: ${esc(target)}</p></div>
<div class="card"><h2>选择测试用户 · Pick a test user</h2>${known}</div>
<div class="card"><h2>或输入 openid · Or type an openid</h2>
<form method="get" action="authorize" data-testid="sandbox-login-form">${hidden}
<div class="row"><input type="text" id="sandbox-openid" data-testid="sandbox-openid" name="sandbox_openid" value="${esc(suggested)}" pattern="[A-Za-z0-9_\\-]{1,64}" required>
<button type="submit" class="green" id="sandbox-login" data-testid="sandbox-login">登录 · Log in</button></div></form></div>`,
  );
}
// --- showqrcode ----------------------------------------------------------------------------------

const QR_PAGE_JS = `${POST_JSON_JS}
var form = document.getElementById('sandbox-scan-form');
form.addEventListener('submit', function (ev) {
  ev.preventDefault();
  var out = document.getElementById('sandbox-scan-result');
  var body = { ticket: form.getAttribute('data-ticket'), openid: document.getElementById('sandbox-scan-openid').value.trim() };
  var sub = subscribedValue(document.getElementById('sandbox-scan-subscribed'));
  if (sub !== undefined) body.subscribed = sub;
  show(out, '…');
  postJson(form.getAttribute('data-action'), body).then(function (r) { show(out, r); }, function (e) { show(out, String(e)); });
});
`;

export interface QrPageInput {
  ticket: QrTicket;
  expired: boolean;
  suggested: string;
  actionUrl: string;
}

export function renderQrPage(input: QrPageInput): string {
  const { ticket, expired, suggested, actionUrl } = input;
  const scene = ticket.sceneStr ?? String(ticket.sceneId);
  return layout(
    '二维码 · QR code',
    `<h1>公众号二维码 · Official account QR code</h1>
<div class="card"><div style="width:220px;height:220px;border:10px solid #222;border-radius:8px;display:flex;align-items:center;justify-content:center;text-align:center;font-size:13px;word-break:break-all;padding:8px" data-testid="sandbox-qr">${esc(ticket.url)}</div>
<table><tr><th>type</th><td>${esc(ticket.actionName)}</td></tr><tr><th>scene</th><td data-testid="sandbox-qr-scene">${esc(scene)}</td></tr>
<tr><th>expires</th><td>${ticket.expiresAt === null ? '永久 permanent' : esc(formatTime(ticket.expiresAt))}${expired ? ' <b class="err">已过期 expired</b>' : ''}</td></tr></table></div>
<div class="card"><h2>扫码 · Scan as…</h2>
<form id="sandbox-scan-form" data-ticket="${esc(ticket.ticket)}" data-action="${esc(actionUrl)}">
<div class="row"><input type="text" id="sandbox-scan-openid" data-testid="sandbox-scan-openid" value="${esc(suggested)}" required>
<select id="sandbox-scan-subscribed" data-testid="sandbox-scan-subscribed"><option value="auto">关注状态：自动 / remembered</option><option value="no">未关注 / not following</option><option value="yes">已关注 / following</option></select>
<button type="submit" class="green" id="sandbox-scan-submit" data-testid="sandbox-scan-submit">扫码 · Scan</button></div></form>
<pre id="sandbox-scan-result" data-testid="sandbox-scan-result"></pre></div>`,
    QR_PAGE_JS,
  );
}
