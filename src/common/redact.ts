/** Log hygiene: no secret, key, signature or full openid / client_id in logs (docs/quality.md "Logs hold no secrets"). */

/** "oLEGACYmember000000000000001" → "oLEGAC…0001". */
export function maskId(value: string | null | undefined): string {
  if (!value) return String(value);
  return value.length <= 10 ? `${value.slice(0, 2)}…` : `${value.slice(0, 6)}…${value.slice(-4)}`;
}

/** Paths whose query string is the credential in plaintext mode (docs/callbacks.md): never logged. */
export const CALLBACK_PATHS = ['/api/v1/auth/wechat/verify', '/api/v1/payment/notify', '/api/v1/payment/refund-notify'];

const SENSITIVE_PARAMS = /^(code|token|access_token|signature|msg_signature|sign|echostr|secret|key|password)$/i;
const ID_PARAMS = /^(openid|client_id|sandbox_openid)$/i;

/** A request URL fit for logs: callback queries dropped, credentials and ids masked. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const path = url.slice(0, q);
  if (CALLBACK_PATHS.includes(path)) return `${path}?[redacted]`;
  const params = new URLSearchParams(url.slice(q + 1));
  const out: string[] = [];
  for (const [k, v] of params) {
    const shown = SENSITIVE_PARAMS.test(k) ? '[redacted]' : ID_PARAMS.test(k) ? maskId(v) : v;
    out.push(`${encodeURIComponent(k)}=${encodeURIComponent(shown)}`);
  }
  return `${path}?${out.join('&')}`;
}

/** Header and body paths pino removes from every log line. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-admin-key"]',
  'req.headers["x-internal-signature"]',
  'req.headers["wechatpay-signature"]',
  'req.headers["x-wechat-openid"]',
  'res.headers["set-cookie"]',
  '*.secret',
  '*.password',
  '*.token',
  '*.access_token',
  '*.sign',
  '*.paySign',
  '*.api_key',
  '*.apiKey',
];
