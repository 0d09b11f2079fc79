import { fromShanghaiWallClock, shanghaiCompact, toIsoShanghai } from '../../../common/time-format';

/**
 * The times WeChat Pay writes and expects: v2 `yyyyMMddHHmmss` in Asia/Shanghai (`time_expire`,
 * `time_end`), v3 RFC 3339 (`time_expire`, `success_time`). The bill's `yyyy-MM-dd HH:mm:ss` is in
 * trade-bill.ts. Parsers answer null for anything that is not a real time.
 */

/** `yyyyMMddHHmmss` in Asia/Shanghai (v2 `time_expire`, `time_start`). China has no DST: +08:00 is exact. */
export function formatV2Time(date: Date): string {
  return shanghaiCompact(date);
}

/** v2 `time_end` (`yyyyMMddHHmmss`, Asia/Shanghai) → Date; null for anything not a real time. */
export function parseV2Time(value: string | undefined): Date | null {
  const match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(value ?? '');
  if (!match) return null;
  const [y, mo, d, h, mi, s] = match.slice(1).map(Number);
  const date = fromShanghaiWallClock(y, mo, d, h, mi, s);
  // Date.UTC rolls 20240231 over to March; a round trip catches every out-of-range field.
  return formatV2Time(date) === value ? date : null;
}

/** RFC 3339 with +08:00 and no fraction, as WeChat writes and expects (`time_expire`). */
export function formatV3Time(date: Date): string {
  return toIsoShanghai(date) as string;
}

/** RFC 3339 (`success_time`, `create_time`) → Date; null for anything not a real time. */
export function parseV3Time(value: string | undefined): Date | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i.exec(value ?? '');
  if (!match) return null;
  const [, y, mo, d, h, mi, s, fraction, zone] = match;
  const base = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s);
  const check = new Date(base);
  // Date.UTC rolls invalid fields over (Feb 30 → Mar 2); insist on the fields as written.
  if (check.getUTCFullYear() !== +y || check.getUTCMonth() !== +mo - 1 || check.getUTCDate() !== +d || +h > 23 || +mi > 59 || +s > 59)
    return null;
  let offsetMinutes = 0;
  if (zone.toUpperCase() !== 'Z') {
    const [oh, om] = zone.slice(1).split(':').map(Number);
    if (oh > 23 || om > 59) return null;
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const ms = fraction ? Math.floor(Number(`0${fraction}`) * 1000) : 0;
  return new Date(base - offsetMinutes * 60_000 + ms);
}
