import { randomInt } from 'node:crypto';
import { shanghaiCompact } from '../common/time-format';

/**
 * The numbers payment gives WeChat Pay, made in one place: a prefix, YYYYMMDDHHmmss (Asia/Shanghai)
 * and CSPRNG characters of [A-Z0-9]. Both are UNIQUE columns; a collision (astronomically rare) is
 * retried with a fresh number up to NUMBER_TRIES times by the insert that hit it.
 */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export const NUMBER_TRIES = 3;

function stamped(prefix: string, now: Date, randomChars: number): string {
  let suffix = '';
  for (let i = 0; i < randomChars; i++) suffix += ALPHABET[randomInt(ALPHABET.length)];
  return `${prefix}${shanghaiCompact(now)}${suffix}`;
}

/** `ORD` + stamp + 6 random chars (docs/api.md). */
export function newOrderNo(now: Date): string {
  return stamped('ORD', now, 6);
}

/** `RF` + stamp + 8 random chars: WeChat's out_refund_no allows 64 of [A-Za-z0-9_-|*@]. */
export function newRefundNo(now: Date): string {
  return stamped('RF', now, 8);
}

/** The error of an insert whose random number was taken already (the driver's duplicate-key message). */
export function isDuplicateNumber(err: unknown): boolean {
  return /duplicate|unique/i.test(String((err as Error).message));
}
