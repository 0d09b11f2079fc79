import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Page session tokens (docs/api.md): JWT, HS256 only, `sub` = openid, `exp`. A dozen lines of
 * node:crypto beat a dependency here: one algorithm, fixed header, constant-time comparison, and
 * the `alg: none` / algorithm-confusion class of bugs cannot exist.
 */
const HEADER = b64url(Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })));

export interface SessionClaims {
  sub: string;
  iat: number;
  exp: number;
}

export function signSessionToken(secret: string, openid: string, nowSeconds: number, ttlSeconds: number): string {
  const payload = b64url(Buffer.from(JSON.stringify({ sub: openid, iat: nowSeconds, exp: nowSeconds + ttlSeconds })));
  return `${HEADER}.${payload}.${mac(secret, `${HEADER}.${payload}`)}`;
}

/** The claims when the token is ours, untampered and unexpired; otherwise null. */
export function verifySessionToken(secret: string, token: string, nowSeconds: number): SessionClaims | null {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== HEADER) return null;
  const expected = Buffer.from(mac(secret, `${parts[0]}.${parts[1]}`));
  const given = Buffer.from(parts[2]);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  const c = claims as Partial<SessionClaims>;
  if (typeof c.sub !== 'string' || !c.sub || typeof c.exp !== 'number' || typeof c.iat !== 'number') return null;
  if (c.exp <= nowSeconds) return null;
  return { sub: c.sub, iat: c.iat, exp: c.exp };
}

function mac(secret: string, data: string): string {
  return b64url(createHmac('sha256', secret).update(data).digest());
}

function b64url(buf: Buffer): string {
  return buf.toString('base64url');
}
