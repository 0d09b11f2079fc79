import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * payment/ owns its tables (docs/data.md "Tables"): no other module names them in SQL — they call
 * payment's exported services (PaymentQueryService, AnomalyService, the refund services). The
 * migrations create them; specs may say anything.
 */
const PAYMENT_TABLES = /\b(payment_orders|payment_records|payment_refunds|payment_anomalies|reconciliation_runs)\b/;
const SRC = join(__dirname, '..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') ? [path] : [];
  });
}

describe('payment tables', () => {
  it('are named in SQL only under src/payment/ (and the migrations)', () => {
    const outside = sources(SRC)
      .map((path) => relative(SRC, path).split('\\').join('/'))
      .filter((rel) => !rel.startsWith('payment/') && !rel.startsWith('database/migrations/'))
      .filter((rel) => PAYMENT_TABLES.test(readFileSync(join(SRC, rel), 'utf8')));
    expect(outside).toEqual([]);
  });
});
