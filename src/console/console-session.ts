import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { signSessionToken, verifySessionToken } from '../common/session-token';

/**
 * The console session (docs/operator-guide.md "Safety"): an HMAC-signed token in an HttpOnly,
 * SameSite=Strict cookie scoped to `/api/v1/console`. It is signed with a key derived from
 * SESSION_SECRET under its own label, so a member Bearer token never verifies here and a console
 * token never verifies as a member session. The CSRF token is bound to the session (an HMAC of the
 * cookie under another label): it cannot be forged without the key, and it dies with the session.
 */
export const CONSOLE_COOKIE = 'wx_console';
export const LOGIN_COOKIE = 'wx_console_login';
export const CONSOLE_COOKIE_PATH = '/api/v1/console';
export const LOGIN_COOKIE_PATH = '/api/v1/console/login';
export const CSRF_HEADER = 'X-CSRF-Token';

export function consoleKey(sessionSecret: string): string {
  return createHmac('sha256', sessionSecret).update('operator-console-session/v1').digest('hex');
}

export function signConsoleSession(key: string, openid: string, nowSeconds: number, ttlSeconds: number): string {
  return signSessionToken(key, openid, nowSeconds, ttlSeconds);
}

export function verifyConsoleSession(key: string, token: string, nowSeconds: number) {
  return verifySessionToken(key, token, nowSeconds);
}

export function csrfTokenFor(key: string, sessionToken: string): string {
  return createHmac('sha256', key).update(`csrf:${sessionToken}`).digest('base64url');
}

export function sameToken(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y) && a.length === b.length;
}

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** One cookie's value from the request's Cookie header (no cookie-parser: two cookies, one reader). */
export function readCookie(req: Request, name: string): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      const v = part.slice(eq + 1).trim();
      return /^[A-Za-z0-9._-]{1,1024}$/.test(v) ? v : null;
    }
  }
  return null;
}

export function cookieHeader(name: string, value: string, opts: { path: string; maxAgeSeconds: number; secure: boolean }): string {
  const parts = [`${name}=${value}`, `Path=${opts.path}`, `Max-Age=${opts.maxAgeSeconds}`, 'HttpOnly', 'SameSite=Strict'];
  if (opts.secure) parts.push('Secure');
  return parts.join('; ');
}
