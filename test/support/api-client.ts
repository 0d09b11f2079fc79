import type { TestApp } from '../setup/test-app';
import type { BuiltNotification } from './pay-notifications';

export type Json = Record<string, any>;

/** A JSON call to the app as a page, the desktop app or an operator would make it. */
export async function call(
  app: TestApp,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; adminKey?: string | null } = {},
): Promise<{ status: number; body: Json }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.adminKey) headers['x-admin-key'] = opts.adminKey;
  const body = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  const res = await fetch(app.url + path, { method, headers, body });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

/** Arrives as the account menu does: sandbox OAuth (instant login as `openid`) → code → session token. */
export async function login(app: TestApp, openid: string): Promise<string> {
  const redirect = encodeURIComponent(`${app.url}/wechat/member.html`);
  const auth = await fetch(
    `${app.config.wechat.oauthBase}/connect/oauth2/authorize?appid=${app.config.wechat.appId}&redirect_uri=${redirect}&response_type=code&scope=snsapi_base&state=member&sandbox_openid=${openid}`,
    { redirect: 'manual' },
  );
  const code = new URL(auth.headers.get('location')!).searchParams.get('code');
  const r = await call(app, 'GET', `/api/v1/auth/wechat?code=${code}`);
  expect(r.status).toBe(200);
  return r.body.token;
}

/** Delivers a WeChat Pay notification as WeChat does (raw body, its own headers). */
export async function sendNotification(
  app: TestApp,
  n: BuiltNotification,
  path = '/api/v1/payment/notify',
): Promise<{ status: number; text: string }> {
  const res = await fetch(app.url + path, { method: 'POST', headers: n.headers, body: n.body });
  return { status: res.status, text: await res.text() };
}
