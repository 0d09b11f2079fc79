import { DomainError } from '../common/errors';
import { signSessionToken } from '../common/session-token';
import { CALLER_REQUIRED_DETAIL, claimIdentity, IdentityInput, IdentityPolicy, SESSION_EXPIRED_DETAIL } from './caller-identity.service';

const SECRET = 'unit-secret-0123456789abcdef';
const NOW = 1_750_000_000;
const policy = (p: Partial<IdentityPolicy> = {}): IdentityPolicy => ({
  secret: SECRET,
  nowSeconds: NOW,
  allowOpenidHeader: false,
  allowClientId: true,
  ...p,
});
const token = (openid = 'oTokenUser', iat = NOW - 10, ttl = 7200, secret = SECRET) => signSessionToken(secret, openid, iat, ttl);

function rejection(input: IdentityInput, p: IdentityPolicy): { status: number; detail: string } {
  try {
    claimIdentity(input, p);
  } catch (e) {
    expect(e).toBeInstanceOf(DomainError);
    return { status: (e as DomainError).status, detail: (e as DomainError).detail };
  }
  throw new Error('expected a rejection');
}

describe('claimIdentity (docs/api.md "User identity" order)', () => {
  const expired = { status: 401, detail: SESSION_EXPIRED_DETAIL };
  const none = { status: 401, detail: CALLER_REQUIRED_DETAIL };
  const badClientId = { status: 400, detail: 'client_id格式错误' };

  it('a valid Bearer token wins over the header and client_id', () => {
    const input = { authorization: `Bearer ${token()}`, openidHeader: 'oHeader', clientId: 'desk-1' };
    expect(claimIdentity(input, policy({ allowOpenidHeader: true }))).toEqual({ via: 'token', openid: 'oTokenUser' });
  });

  it('the scheme name is case-insensitive and surrounding spaces do not matter', () => {
    expect(claimIdentity({ authorization: `  bearer   ${token()}  ` }, policy())).toEqual({ via: 'token', openid: 'oTokenUser' });
  });

  it.each([
    ['expired', () => token('oTokenUser', NOW - 7200, 7200)],
    ['signed with another key', () => token('oTokenUser', NOW, 7200, 'another-secret-0123456789')],
    [
      'tampered',
      () =>
        token().replace(/\.[^.]+\./, `.${Buffer.from(JSON.stringify({ sub: 'oOther', iat: NOW, exp: NOW + 99 })).toString('base64url')}.`),
    ],
    ['garbage', () => 'not-a-jwt'],
    ['empty', () => ''],
  ])('a %s Bearer token is 401 登录已过期 even with a valid header and client_id', (_name, make) => {
    const input = { authorization: `Bearer ${make()}`, openidHeader: 'oHeader', clientId: 'desk-1' };
    expect(rejection(input, policy({ allowOpenidHeader: true }))).toEqual(expired);
  });

  it('another Authorization scheme is ignored', () => {
    expect(claimIdentity({ authorization: 'Basic dXNlcjpwYXNz', clientId: 'desk-1' }, policy())).toEqual({
      via: 'client_id',
      clientId: 'desk-1',
    });
    expect(claimIdentity({ authorization: 'Bearerx abc', clientId: 'desk-1' }, policy())).toEqual({ via: 'client_id', clientId: 'desk-1' });
    expect(rejection({ authorization: 'Basic dXNlcjpwYXNz' }, policy())).toEqual(none);
  });

  it('X-WeChat-OpenID counts only when allowed, and then before client_id', () => {
    // Not identity, but an old cached page sending only the header is told to re-enter from the menu (docs/deploy.md).
    expect(rejection({ openidHeader: 'oHeader' }, policy())).toEqual(expired);
    expect(claimIdentity({ openidHeader: 'oHeader', clientId: 'desk-1' }, policy())).toEqual({ via: 'client_id', clientId: 'desk-1' });
    expect(claimIdentity({ openidHeader: ' oHeader ', clientId: 'desk-1' }, policy({ allowOpenidHeader: true }))).toEqual({
      via: 'openid_header',
      openid: 'oHeader',
    });
    expect(claimIdentity({ openidHeader: '  ', clientId: 'desk-1' }, policy({ allowOpenidHeader: true }))).toEqual({
      via: 'client_id',
      clientId: 'desk-1',
    });
  });

  it('client_id only where the endpoint allows it', () => {
    expect(rejection({ clientId: 'desk-1' }, policy({ allowClientId: false }))).toEqual(none);
    // Not listed = not read: even a malformed one is simply absent.
    expect(rejection({ clientId: 'bad id' }, policy({ allowClientId: false }))).toEqual(none);
  });

  it('client_id is trimmed, then must be 1–128 of [A-Za-z0-9_.:-]', () => {
    expect(claimIdentity({ clientId: '  desk:1_a.b-c \t' }, policy())).toEqual({ via: 'client_id', clientId: 'desk:1_a.b-c' });
    expect(claimIdentity({ clientId: 'a'.repeat(128) }, policy())).toEqual({ via: 'client_id', clientId: 'a'.repeat(128) });
    for (const bad of ['', '   ', 'a'.repeat(129), 'desk 1', "x' OR '1'='1", '<script>alert(1)</script>', ['a', 'b'], { a: 1 }]) {
      expect(rejection({ clientId: bad }, policy())).toEqual(badClientId);
    }
  });

  it('nothing usable is 401 请先关注公众号并扫码', () => {
    expect(rejection({}, policy())).toEqual(none);
  });
});
