import { randomInt } from 'node:crypto';
import { shanghaiCompact } from '../common/time-format';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** `ORD` + YYYYMMDDHHmmss (Asia/Shanghai) + 6 CSPRNG chars [A-Z0-9] (docs/api.md). */
export function newOrderNo(now: Date): string {
  const stamp = shanghaiCompact(now);
  let suffix = '';
  for (let i = 0; i < 6; i++) suffix += ALPHABET[randomInt(ALPHABET.length)];
  return `ORD${stamp}${suffix}`;
}
