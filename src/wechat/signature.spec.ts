import { isFreshTimestamp, safeEqual, sha1Signature } from './signature';

describe('sha1Signature', () => {
  // docs/test-vectors.md, "Server signature"
  it.each([
    ['AAAAA', '1714036504', '1514711492', 'f464b24fc39322e44b38aa78f5edd27bd1441696'],
    ['AAAAA', '1714037059', '486452656', '899cf89e464efb63f54ddac96b0a0a235f53aa78'],
    ['test', '1410685589', 'test', 'f21891de399b4e33a1a93c9a7b8a8fffb5a443ff'],
  ])('reproduces the published server signature for token %s, timestamp %s', (token, timestamp, nonce, expected) => {
    expect(sha1Signature(token, timestamp, nonce)).toBe(expected);
  });

  it('does not depend on argument order (sorted before hashing)', () => {
    expect(sha1Signature('1514711492', 'AAAAA', '1714036504')).toBe('f464b24fc39322e44b38aa78f5edd27bd1441696');
  });

  it('reproduces the published msg_signature over [token, timestamp, nonce, Encrypt]', () => {
    const encrypt =
      'jn1L23DB+6ELqJ+6bruv23M2GmYfkv0xBh2h+XTBOKVKcgDFHle6gqcZ1cZrk3e1qjPQ1F4RsLWzQRG9udbKWesxlkupqcEcW7ZQweImX9+wLMa0GaUzpkycA8+IamDBxn5loLgZpnS7fVAbExOkK5DYHBmv5tptA9tklE/fTIILHR8HLXa5nQvFb3tYPKAlHF3rtTeayNf0QuM+UW/wM9enGIDIJHF7CLHiDNAYxr+r+OrJCmPQyTy8cVWlu9iSvOHPT/77bZqJucQHQ04sq7KZI27OcqpQNSto2OdHCoTccjggX5Z9Mma0nMJBU+jLKJ38YB1fBIz+vBzsYjrTmFQ44YfeEuZ+xRTQwr92vhA9OxchWVINGC50qE/6lmkwWTwGX9wtQpsJKhP+oS7rvTY8+VdzETdfakjkwQ5/Xka042OlUb1/slTwo4RscuQ+RdxSGvDahxAJ6+EAjLt9d8igHngxIbf6YyqqROxuxqIeIch3CssH/LqRs+iAcILvApYZckqmA7FNERspKA5f8GoJ9sv8xmGvZ9Yrf57cExWtnX8aCMMaBropU/1k+hKP5LVdzbWCG0hGwx/dQudYR/eXp3P0XxjlFiy+9DMlaFExWUZQDajPkdPrEeOwofJb';
    expect(sha1Signature('pamtest', '1409304348', 'xxxxxx', encrypt)).toBe('ea88b765074e41eb8c7a75b449db34fa2fd560d5');
  });

  it('changes when any part changes', () => {
    const base = sha1Signature('AAAAA', '1714036504', '1514711492');
    expect(sha1Signature('AAAAB', '1714036504', '1514711492')).not.toBe(base);
    expect(sha1Signature('AAAAA', '1714036505', '1514711492')).not.toBe(base);
    expect(sha1Signature('AAAAA', '1714036504', '1514711493')).not.toBe(base);
  });
});

describe('safeEqual', () => {
  it('accepts identical strings', () => {
    expect(safeEqual('f464b24f', 'f464b24f')).toBe(true);
    expect(safeEqual('', '')).toBe(true);
  });

  it('rejects a single differing character at any position', () => {
    const sig = 'f464b24fc39322e44b38aa78f5edd27bd1441696';
    for (let i = 0; i < sig.length; i++) {
      const tampered = sig.slice(0, i) + (sig[i] === '0' ? '1' : '0') + sig.slice(i + 1);
      expect(safeEqual(sig, tampered)).toBe(false);
    }
  });

  it('returns false on length mismatch without throwing', () => {
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual('abcd', '')).toBe(false);
    // Same character count, different byte length in UTF-8.
    expect(safeEqual('é', 'e')).toBe(false);
  });
});

describe('isFreshTimestamp', () => {
  const now = 1_714_036_504;

  it('accepts timestamps within the skew on either side, inclusive', () => {
    expect(isFreshTimestamp(String(now), now, 300)).toBe(true);
    expect(isFreshTimestamp(String(now - 300), now, 300)).toBe(true);
    expect(isFreshTimestamp(String(now + 300), now, 300)).toBe(true);
  });

  it('rejects timestamps beyond the skew', () => {
    expect(isFreshTimestamp(String(now - 301), now, 300)).toBe(false);
    expect(isFreshTimestamp(String(now + 301), now, 300)).toBe(false);
  });

  it.each([
    '',
    ' 1714036504',
    '1714036504 ',
    '+1714036504',
    '-1714036504',
    '1.7e9',
    '0x66294a98',
    '1714036504.0',
    '１７１４０３６５０４',
    'abc',
  ])('rejects non-digit timestamp %j', (timestamp) => {
    expect(isFreshTimestamp(timestamp, now, 1e12)).toBe(false);
  });

  it('rejects when now or the skew is not a usable number', () => {
    expect(isFreshTimestamp(String(now), Number.NaN, 300)).toBe(false);
    expect(isFreshTimestamp(String(now), now, -1)).toBe(false);
  });
});
