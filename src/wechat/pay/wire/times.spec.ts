import { formatV2Time, formatV3Time, parseV2Time, parseV3Time } from './times';

describe('v2 times (yyyyMMddHHmmss, Asia/Shanghai)', () => {
  it('formats a UTC instant as Shanghai wall time', () => {
    expect(formatV2Time(new Date('2024-04-25T02:05:09Z'))).toBe('20240425100509');
    expect(formatV2Time(new Date('2024-12-31T16:00:00Z'))).toBe('20250101000000');
  });

  it('parses time_end back to the same instant', () => {
    expect(parseV2Time('20240425100509')?.toISOString()).toBe('2024-04-25T02:05:09.000Z');
    expect(parseV2Time('20250101000000')?.toISOString()).toBe('2024-12-31T16:00:00.000Z');
  });

  it.each([
    '',
    '2024042510050',
    '202404251005091',
    '20240231100000',
    '20241301000000',
    '20240425240000',
    '20240425106000',
    '2024-04-25 10:05',
    undefined,
  ])('refuses %p', (value) => {
    expect(parseV2Time(value)).toBeNull();
  });
});

describe('v3 times (RFC 3339)', () => {
  it('formats time_expire in +08:00 without fraction', () => {
    expect(formatV3Time(new Date('2024-04-25T09:45:00.700Z'))).toBe('2024-04-25T17:45:00+08:00');
  });

  it.each([
    ['2024-04-25T17:14:58+08:00', '2024-04-25T09:14:58.000Z'],
    ['2024-04-25T09:14:58Z', '2024-04-25T09:14:58.000Z'],
    ['2024-04-25T09:14:58.250Z', '2024-04-25T09:14:58.250Z'],
    ['2024-04-24T23:14:58-10:00', '2024-04-25T09:14:58.000Z'],
  ])('parses %s', (text, iso) => {
    expect(parseV3Time(text)?.toISOString()).toBe(iso);
  });

  it.each([
    '',
    '2024-04-25 17:14:58+08:00',
    '2024-02-30T10:00:00+08:00',
    '2024-04-25T24:00:00+08:00',
    '2024-04-25T17:14:58',
    '2024-04-25T17:14:58+0800',
    undefined,
  ])('refuses %p', (text) => {
    expect(parseV3Time(text)).toBeNull();
  });
});
