import {
  fromShanghaiWallClock,
  shanghaiCompact,
  shanghaiDate,
  shanghaiDay,
  shanghaiHour,
  toIsoShanghai,
  toLegacyDateTime,
} from './time-format';

/** 2025-11-19 04:46:29 UTC is 12:46:29 in Asia/Shanghai; 16:30 UTC is already the next day there. */
describe('Asia/Shanghai time', () => {
  const at = new Date('2025-11-19T04:46:29.750Z');
  const lateUtc = new Date('2025-11-19T16:30:00Z');

  it('formats the contract and WeChat Pay forms (no milliseconds)', () => {
    expect(toLegacyDateTime(at)).toBe('2025-11-19 12:46:29');
    expect(toIsoShanghai(at)).toBe('2025-11-19T12:46:29+08:00');
    expect(shanghaiCompact(at)).toBe('20251119124629');
    expect(shanghaiCompact(at.getTime())).toBe('20251119124629');
    expect(toLegacyDateTime(null)).toBeNull();
  });

  it('reads a Shanghai wall clock back to the instant', () => {
    expect(fromShanghaiWallClock(2025, 11, 19, 12, 46, 29).toISOString()).toBe('2025-11-19T04:46:29.000Z');
    expect(fromShanghaiWallClock(2025, 11, 20).toISOString()).toBe('2025-11-19T16:00:00.000Z');
  });

  it('days and hours are Shanghai ones', () => {
    expect(shanghaiDate(lateUtc)).toBe('2025-11-20');
    expect(shanghaiDate(lateUtc, -1)).toBe('2025-11-19');
    expect(shanghaiHour(lateUtc)).toBe(0);
    expect(shanghaiDay('2025-11-20')).toEqual({ start: new Date('2025-11-19T16:00:00Z'), end: new Date('2025-11-20T16:00:00Z') });
  });
});
