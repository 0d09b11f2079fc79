import { randomInt } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** `ORD` + YYYYMMDDHHmmss (Asia/Shanghai) + 6 CSPRNG chars [A-Z0-9] (docs/api.md). */
export function newOrderNo(now: Date): string {
  const shanghai = new Date(now.getTime() + 8 * 3600_000).toISOString(); // no DST in China
  const stamp = shanghai.slice(0, 19).replace(/[-T:]/g, '');
  let suffix = '';
  for (let i = 0; i < 6; i++) suffix += ALPHABET[randomInt(ALPHABET.length)];
  return `ORD${stamp}${suffix}`;
}
