import { maskId, redactUrl } from './redact';

describe('log redaction', () => {
  it('drops the whole query of the callback paths (in plaintext mode it is the credential)', () => {
    expect(redactUrl('/api/v1/auth/wechat/verify?signature=a&timestamp=1&nonce=n&openid=oABC')).toBe(
      '/api/v1/auth/wechat/verify?[redacted]',
    );
    expect(redactUrl('/api/v1/payment/notify?x=1')).toBe('/api/v1/payment/notify?[redacted]');
  });

  it('masks credentials and shortens ids elsewhere', () => {
    expect(redactUrl('/api/v1/auth/wechat?code=SECRETCODE&state=member')).toBe('/api/v1/auth/wechat?code=%5Bredacted%5D&state=member');
    expect(redactUrl('/api/v1/user/credits?client_id=PC_1730000000000_legacy01')).toBe(
      '/api/v1/user/credits?client_id=PC_173%E2%80%A6cy01',
    );
    expect(redactUrl('/api/v1/health')).toBe('/api/v1/health');
  });

  it('shortens openids to a recognisable stub', () => {
    expect(maskId('oLEGACYmember000000000000001')).toBe('oLEGAC…0001');
    expect(maskId('short')).toBe('sh…');
    expect(maskId(null)).toBe('null');
  });
});
