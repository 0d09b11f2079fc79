import type { Request } from 'express';
import { signSessionToken, verifySessionToken } from '../common/session-token';
import { consoleKey, cookieHeader, csrfTokenFor, readCookie, sameToken, signConsoleSession, verifyConsoleSession } from './console-session';

describe('console session', () => {
  const secret = 'member-session-secret-0123456789abcdef';
  const key = consoleKey(secret);
  const now = 1_800_000_000;

  it('is signed with its own key: member and console tokens never verify as each other', () => {
    expect(key).not.toBe(secret);
    const consoleToken = signConsoleSession(key, 'oOperator', now, 600);
    const memberToken = signSessionToken(secret, 'oOperator', now, 600);
    expect(verifyConsoleSession(key, consoleToken, now)).toMatchObject({ sub: 'oOperator' });
    expect(verifyConsoleSession(key, memberToken, now)).toBeNull();
    expect(verifySessionToken(secret, consoleToken, now)).toBeNull();
    expect(verifyConsoleSession(key, consoleToken, now + 600)).toBeNull(); // expired
  });

  it('the CSRF token belongs to one session and compares in constant time', () => {
    const a = signConsoleSession(key, 'oOperator', now, 600);
    const b = signConsoleSession(key, 'oOperator', now + 1, 600);
    expect(csrfTokenFor(key, a)).not.toBe(csrfTokenFor(key, b));
    expect(sameToken(csrfTokenFor(key, a), csrfTokenFor(key, a))).toBe(true);
    expect(sameToken(csrfTokenFor(key, a), csrfTokenFor(key, b))).toBe(false);
    expect(sameToken('', csrfTokenFor(key, a))).toBe(false);
  });

  it('reads one cookie and ignores values that cannot be ours', () => {
    const req = (cookie?: string) => ({ headers: { cookie } }) as unknown as Request;
    expect(readCookie(req('a=1; wx_console=abc.def-_; b=2'), 'wx_console')).toBe('abc.def-_');
    expect(readCookie(req('wx_console_login=x'), 'wx_console')).toBeNull();
    expect(readCookie(req('wx_console=<script>'), 'wx_console')).toBeNull();
    expect(readCookie(req(undefined), 'wx_console')).toBeNull();
  });

  it('cookies are HttpOnly and SameSite=Strict, Secure when asked (production)', () => {
    expect(cookieHeader('wx_console', 't', { path: '/api/v1/console', maxAgeSeconds: 1800, secure: false })).toBe(
      'wx_console=t; Path=/api/v1/console; Max-Age=1800; HttpOnly; SameSite=Strict',
    );
    expect(cookieHeader('wx_console', 't', { path: '/api/v1/console', maxAgeSeconds: 1800, secure: true })).toMatch(/; Secure$/);
  });
});
