import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * Each table has one owning module (docs/data.md "Tables"): only the owner names it in SQL; other
 * modules read and write it through the owner's exported services (the entity imports are checked
 * by dependency-cruiser, rule entities-belong-to-their-module). The migrations create every table;
 * specs may say anything. The exceptions are hot-path reads kept in one round trip, each commented
 * where it is and listed in docs/data.md.
 */
const OWNERS: Record<string, string[]> = {
  user: ['wechat_users', 'credit_ledger', 'credits_usage'],
  binding: ['wechat_qrcode_bindings', 'wechat_qr_scenes'],
  payment: ['payment_orders', 'payment_records', 'payment_refunds', 'payment_anomalies', 'reconciliation_runs'],
  console: ['console_audit'],
  internal: ['wechat_callback_nonces'],
};

/** Reads of another module's table that stay in the reader's single statement (file under src/, table). */
const EXCEPTIONS: Array<[file: string, table: string]> = [
  // ORDER_READ's has_user: every payment notification's one read of its order.
  ['payment/orders/payment-apply.service.ts', 'wechat_users'],
  // A client_id caller resolved to its user in one query (and user/ may not depend on binding/).
  ['user/caller-identity.service.ts', 'wechat_qrcode_bindings'],
  // check-follow, polled by the desktop: the binding and its user's subscription in one query.
  ['binding/qr-binding.service.ts', 'wechat_users'],
];

const SRC = __dirname;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') ? [path] : [];
  });
}

const files = sources(SRC)
  .map((path) => relative(SRC, path).split('\\').join('/'))
  .filter((rel) => !rel.startsWith('database/migrations/'))
  .map((rel) => ({ rel, text: readFileSync(join(SRC, rel), 'utf8') }));

const names = (text: string, table: string) => new RegExp(`\\b${table}\\b`).test(text);

describe('table ownership (docs/data.md "Tables")', () => {
  it.each(Object.entries(OWNERS))("%s's tables are named only under its own folder (and the migrations)", (owner, tables) => {
    const outside = files
      .filter((f) => !f.rel.startsWith(`${owner}/`))
      .flatMap((f) => tables.filter((t) => names(f.text, t)).map((t): [string, string] => [f.rel, t]))
      .filter(([rel, t]) => !EXCEPTIONS.some(([file, table]) => file === rel && table === t));
    expect(outside).toEqual([]);
  });

  it('every listed exception is still needed (drop it from the list once the read goes through the owner)', () => {
    const stale = EXCEPTIONS.filter(([file, table]) => !files.some((f) => f.rel === file && names(f.text, table)));
    expect(stale).toEqual([]);
  });
});
