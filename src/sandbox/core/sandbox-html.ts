import { toLegacyDateTime } from '../../common/time-format';

/** Server-rendered HTML of the sandbox: every dynamic value goes through `esc`. */
export function esc(value: string | number | null | undefined): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const STYLE = `
*{box-sizing:border-box}body{margin:0;font-family:-apple-system,BlinkMacSystemFont,"PingFang SC","Helvetica Neue","Microsoft YaHei",sans-serif;background:linear-gradient(135deg,#667eea,#764ba2);min-height:100vh;color:#222}
main{max-width:960px;margin:0 auto;padding:16px}
.card{background:#fff;border-radius:16px;box-shadow:0 8px 24px rgba(0,0,0,.15);padding:16px 20px;margin:14px 0}
h1{color:#fff;font-size:22px;margin:12px 0}h2{font-size:17px;margin:0 0 10px;color:#667eea}
a{color:#667eea}code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}pre{white-space:pre-wrap;word-break:break-all;background:#f6f6fb;padding:8px;border-radius:8px;margin:4px 0}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:5px 6px;border-bottom:1px solid #eee;vertical-align:top;word-break:break-all}
button,.btn{background:#667eea;color:#fff;border:0;border-radius:8px;padding:7px 14px;font-size:14px;cursor:pointer;text-decoration:none;display:inline-block}
button.green,.btn.green{background:#07c160}input[type=text]{padding:6px 8px;border:1px solid #ccc;border-radius:6px;font-size:14px;min-width:260px}
.muted{color:#888;font-size:12px}.err{background:#fef2f2;color:#c33;border-radius:8px;padding:8px}.ok{color:#07c160}
.row{display:flex;gap:8px;flex-wrap:wrap;align-items:center;margin:6px 0}
`;

export function layout(title: string, body: string, script = ''): string {
  return (
    `<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<title>${esc(title)}</title><style>${STYLE}</style></head><body><main>${body}</main>` +
    (script ? `<script>${script}</script>` : '') +
    `</body></html>`
  );
}

export function errorPage(title: string, message: string, code?: number): string {
  return layout(
    title,
    `<h1>${esc(title)}</h1><div class="card"><p class="err" data-testid="sandbox-error">${esc(message)}${
      code !== undefined ? ` (${esc(code)})` : ''
    }</p></div>`,
  );
}

export function formatTime(ms: number | undefined | null): string {
  if (!ms) return '';
  return toLegacyDateTime(new Date(ms)) ?? '';
}

/** Helpers of the pages' inline scripts: post JSON, show an answer, read the "following" select. */
export const POST_JSON_JS = `
function postJson(url, body) {
  return fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
    .then(function (res) { return res.text().then(function (t) { var d; try { d = JSON.parse(t); } catch (e) { d = t; } return { status: res.status, data: d }; }); });
}
function show(el, value) { el.textContent = typeof value === 'string' ? value : JSON.stringify(value, null, 2); }
function subscribedValue(select) { return select.value === 'yes' ? true : select.value === 'no' ? false : undefined; }
`;
