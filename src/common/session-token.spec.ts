import { createHmac } from 'node:crypto';
import { signSessionToken, verifySessionToken } from './session-token';

const SECRET = 'x'.repeat(40);
const NOW = 1_800_000_000;

describe('session tokens (HS256 JWT)', () => {
  it('round-trips the openid with iat/exp', () => {
    const t = signSessionToken(SECRET, 'oUser123', NOW, 7200);
    expect(verifySessionToken(SECRET, t, NOW + 10)).toEqual({ sub: 'oUser123', iat: NOW, exp: NOW + 7200 });
  });

  it('matches an independent HS256 computation (interoperable JWT)', () => {
    const t = signSessionToken(SECRET, 'oUser123', NOW, 60);
    const [h, p, s] = t.split('.');
    expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(s).toBe(createHmac('sha256', SECRET).update(`${h}.${p}`).digest('base64url'));
  });

  it('refuses expired tokens (exp is exclusive)', () => {
    const t = signSessionToken(SECRET, 'o1', NOW, 60);
    expect(verifySessionToken(SECRET, t, NOW + 59)).not.toBeNull();
    expect(verifySessionToken(SECRET, t, NOW + 60)).toBeNull();
  });

  it('refuses a token signed with another key, a changed payload, alg none and garbage', () => {
    const t = signSessionToken(SECRET, 'o1', NOW, 60);
    expect(verifySessionToken('y'.repeat(40), t, NOW)).toBeNull();
    const [h, , s] = t.split('.');
    const forged = Buffer.from(JSON.stringify({ sub: 'oVictim', iat: NOW, exp: NOW + 60 })).toString('base64url');
    expect(verifySessionToken(SECRET, `${h}.${forged}.${s}`, NOW)).toBeNull();
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    expect(verifySessionToken(SECRET, `${none}.${forged}.`, NOW)).toBeNull();
    for (const junk of ['', 'a.b', 'a.b.c', `${t}.x`, t.slice(0, -1)]) expect(verifySessionToken(SECRET, junk, NOW)).toBeNull();
  });

  it('flipping any character of the token invalidates it', () => {
    const t = signSessionToken(SECRET, 'oUser', NOW, 60);
    for (let i = 0; i < t.length; i++) {
      if (t[i] === '.') continue;
      const c = t[i] === 'A' ? 'B' : 'A';
      // Signatures are compared as text, so even a flip in base64 padding bits is refused.
      expect(verifySessionToken(SECRET, t.slice(0, i) + c + t.slice(i + 1), NOW)).toBeNull();
    }
    expect(verifySessionToken(SECRET, t, NOW)).not.toBeNull();
  });
});
