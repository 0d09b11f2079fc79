import { Logger } from '@nestjs/common';

/**
 * Every admin action leaves one log line saying what it changed (docs/ops.md), under the `AdminAudit`
 * context so operators can grep for it. Only ids, amounts and states: never a key, a full openid or
 * a raw notification.
 */
const audit = new Logger('AdminAudit');

export function auditLog(action: string, facts: Record<string, string | number | boolean | null | undefined>): void {
  const parts = Object.entries(facts)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v.slice(0, 200)) : String(v)}`);
  audit.log(`${action} ${parts.join(' ')}`);
}
