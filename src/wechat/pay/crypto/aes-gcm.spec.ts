import { WechatPayCryptoError } from '../../errors';
import { aesGcmDecrypt, aesGcmEncrypt } from './aes-gcm';

// docs/test-vectors.md, "WeChat Pay v3 — AES-256-GCM"
const KEY = 'a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb';
const NONCE = 'uluk4a9R25RW';
const AAD = 'associatedData';
const PLAINTEXT = 'message';
const CIPHERTEXT = 'ulwSiIajGClcvcOYvOQ7+l+0PAbzzwI=';

function payError(fn: () => unknown): WechatPayCryptoError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(WechatPayCryptoError);
    return error as WechatPayCryptoError;
  }
  throw new Error('expected a WechatPayCryptoError');
}

describe('AES-256-GCM (APIv3 resources)', () => {
  it('decrypts the published vector', () => {
    expect(aesGcmDecrypt({ key: KEY, nonce: NONCE, associatedData: AAD, ciphertext: CIPHERTEXT })).toBe(PLAINTEXT);
  });

  it('encrypts to the published vector (data ‖ 16-byte tag)', () => {
    const ciphertext = aesGcmEncrypt({ key: KEY, nonce: NONCE, associatedData: AAD, plaintext: PLAINTEXT });
    expect(ciphertext).toBe(CIPHERTEXT);
    expect(Buffer.from(ciphertext, 'base64').length).toBe(PLAINTEXT.length + 16);
  });

  it('accepts the key as a Buffer', () => {
    expect(aesGcmDecrypt({ key: Buffer.from(KEY), nonce: NONCE, associatedData: AAD, ciphertext: CIPHERTEXT })).toBe(PLAINTEXT);
  });

  it.each([
    [
      'a transaction resource',
      JSON.stringify({ appid: 'wx1', out_trade_no: 'O1', amount: { total: 100 }, payer: { openid: '用户' } }),
      'transaction',
    ],
    ['empty associated data', '{}', ''],
    ['empty plaintext', '', 'certificate'],
  ])('round-trips %s', (_name, plaintext, associatedData) => {
    const ciphertext = aesGcmEncrypt({ key: KEY, nonce: NONCE, associatedData, plaintext });
    expect(aesGcmDecrypt({ key: KEY, nonce: NONCE, associatedData, ciphertext })).toBe(plaintext);
  });

  it('treats missing associated data as empty', () => {
    const ciphertext = aesGcmEncrypt({ key: KEY, nonce: NONCE, plaintext: 'x' });
    expect(aesGcmDecrypt({ key: KEY, nonce: NONCE, associatedData: '', ciphertext })).toBe('x');
  });

  it('rejects a flip of any byte of data or tag', () => {
    const bytes = Buffer.from(CIPHERTEXT, 'base64');
    for (let i = 0; i < bytes.length; i++) {
      const tampered = Buffer.from(bytes);
      tampered[i] ^= 0x01;
      expect(
        payError(() => aesGcmDecrypt({ key: KEY, nonce: NONCE, associatedData: AAD, ciphertext: tampered.toString('base64') })).code,
      ).toBe('auth_failed');
    }
  });

  it('rejects a truncated tag, wrong key, nonce or associated data', () => {
    const truncated = Buffer.from(CIPHERTEXT, 'base64').subarray(0, -1).toString('base64');
    expect(payError(() => aesGcmDecrypt({ key: KEY, nonce: NONCE, associatedData: AAD, ciphertext: truncated })).code).toBe('auth_failed');
    expect(
      payError(() => aesGcmDecrypt({ key: 'b7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb', nonce: NONCE, associatedData: AAD, ciphertext: CIPHERTEXT }))
        .code,
    ).toBe('auth_failed');
    expect(payError(() => aesGcmDecrypt({ key: KEY, nonce: 'uluk4a9R25RX', associatedData: AAD, ciphertext: CIPHERTEXT })).code).toBe(
      'auth_failed',
    );
    expect(payError(() => aesGcmDecrypt({ key: KEY, nonce: NONCE, associatedData: 'associatedDatA', ciphertext: CIPHERTEXT })).code).toBe(
      'auth_failed',
    );
    expect(payError(() => aesGcmDecrypt({ key: KEY, nonce: NONCE, ciphertext: CIPHERTEXT })).code).toBe('auth_failed');
  });

  it.each([
    ['31-byte key', { key: KEY.slice(1) }, 'invalid_key'],
    ['33-byte key', { key: `${KEY}x` }, 'invalid_key'],
    ['empty nonce', { nonce: '' }, 'invalid_input'],
    ['non-base64 ciphertext', { ciphertext: 'not base64!' }, 'invalid_input'],
    ['ciphertext shorter than a tag', { ciphertext: Buffer.alloc(15).toString('base64') }, 'invalid_input'],
  ])('rejects a %s', (_name, override, code) => {
    expect(payError(() => aesGcmDecrypt({ key: KEY, nonce: NONCE, associatedData: AAD, ciphertext: CIPHERTEXT, ...override })).code).toBe(
      code,
    );
  });

  it('rejects a bad key when encrypting too', () => {
    expect(payError(() => aesGcmEncrypt({ key: 'short', nonce: NONCE, plaintext: 'x' })).code).toBe('invalid_key');
  });
});
