/**
 * Asia/Shanghai time, in one place: the contract's datetime formats (docs/api.md — the old endpoints
 * keep "YYYY-MM-DD HH:mm:ss", everything else ISO 8601 with +08:00 and no milliseconds), WeChat Pay's
 * compact `yyyyMMddHHmmss`, order and refund number stamps, and Shanghai calendar days (bills,
 * reconciliation, the console's dashboard). China has no DST, so a fixed +8 h offset is exact.
 */
export const SHANGHAI_OFFSET_MS = 8 * 3600_000;
const DAY_MS = 86400_000;

/** The Asia/Shanghai wall clock of an instant: `YYYY-MM-DDTHH:mm:ss`. */
function shanghaiParts(d: Date | number): string {
  return new Date(+d + SHANGHAI_OFFSET_MS).toISOString().slice(0, 19);
}

export function toLegacyDateTime(d: Date | null | undefined): string | null {
  return d ? shanghaiParts(d).replace('T', ' ') : null;
}

export function toIsoShanghai(d: Date | null | undefined): string | null {
  return d ? `${shanghaiParts(d)}+08:00` : null;
}

/** `yyyyMMddHHmmss` in Asia/Shanghai (WeChat Pay v2 times, order and refund number stamps). */
export function shanghaiCompact(d: Date | number): string {
  return shanghaiParts(d).replace(/[-T:]/g, '');
}

/** The instant of an Asia/Shanghai wall-clock time (month 1–12); no range check. */
export function fromShanghaiWallClock(y: number, month: number, day: number, h = 0, mi = 0, s = 0): Date {
  return new Date(Date.UTC(y, month - 1, day, h, mi, s) - SHANGHAI_OFFSET_MS);
}

/** The Asia/Shanghai calendar date `YYYY-MM-DD` of an instant, shifted by `days`. */
export function shanghaiDate(at: Date, days = 0): string {
  return new Date(at.getTime() + SHANGHAI_OFFSET_MS + days * DAY_MS).toISOString().slice(0, 10);
}

/** The Asia/Shanghai day `YYYY-MM-DD` as an instant range [start, end). */
export function shanghaiDay(date: string): { start: Date; end: Date } {
  const start = new Date(`${date}T00:00:00+08:00`);
  return { start, end: new Date(start.getTime() + DAY_MS) };
}

/** The hour (0–23) of an instant on an Asia/Shanghai clock. */
export function shanghaiHour(at: Date): number {
  return new Date(at.getTime() + SHANGHAI_OFFSET_MS).getUTCHours();
}
