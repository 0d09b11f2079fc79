import { decodeBase64Strict, decodeUtf8Strict } from './encoding';

describe('decodeBase64Strict', () => {
  it('decodes canonical base64', () => {
    expect(decodeBase64Strict('aGVsbG8=')?.toString()).toBe('hello');
    expect(decodeBase64Strict('aGk+Pz8/')?.toString('hex')).toBe('68693e3f3f3f');
  });

  it.each(['', 'aGVsbG8', 'aGVsbG9=', 'aGVs bG8=', 'aGVsbG8=\n', 'aGVs*G8=', 'aGV=bG8=', 'aGVsbG8-', '===='])('rejects %j', (value) => {
    expect(decodeBase64Strict(value)).toBeNull();
  });
});

describe('decodeUtf8Strict', () => {
  it('decodes valid UTF-8', () => {
    expect(decodeUtf8Strict(Buffer.from('我是中文abcd123'))).toBe('我是中文abcd123');
  });

  it.each(['ff', 'c3', 'e4b8', 'eda080'])('rejects invalid sequence %s', (hex) => {
    expect(decodeUtf8Strict(Buffer.from(hex, 'hex'))).toBeNull();
  });
});
