/**
 * Datetime formats of the contract (docs/api.md): the old endpoints keep "YYYY-MM-DD HH:mm:ss" in
 * Asia/Shanghai; everything else is ISO 8601 with +08:00 and no milliseconds. China has no DST,
 * so a fixed +8h offset is exact.
 */
const SHANGHAI_OFFSET_MS = 8 * 3600 * 1000;

function shanghaiParts(d: Date): string {
  return new Date(d.getTime() + SHANGHAI_OFFSET_MS).toISOString().slice(0, 19); // YYYY-MM-DDTHH:mm:ss
}

export function toLegacyDateTime(d: Date | null | undefined): string | null {
  return d ? shanghaiParts(d).replace('T', ' ') : null;
}

export function toIsoShanghai(d: Date | null | undefined): string | null {
  return d ? `${shanghaiParts(d)}+08:00` : null;
}
