/**
 * The invariants of docs/data.md, checked after every credit and payment scenario:
 * - per user: total = used + remaining, remaining >= 0, remaining = SUM(ledger.delta);
 * - a paid order has exactly one payment record and its amount equals the order's amount_fen.
 */
export type Query = (sql: string) => Promise<Array<Record<string, unknown>>>;

/** A number as the drivers return it: DECIMAL, COUNT and SUM can come back as text from MySQL. */
type Num = number | string;

export async function ledgerViolations(query: Query): Promise<string[]> {
  const users = (await query(
    `SELECT u.openid AS openid, u.total_credits AS total, u.used_credits AS used, u.remaining_credits AS remaining,
            (SELECT COALESCE(SUM(l.delta), 0) FROM credit_ledger l WHERE l.openid = u.openid) AS ledger_sum
       FROM wechat_users u`,
  )) as Array<{ openid: string; total: Num; used: Num; remaining: Num; ledger_sum: Num }>;
  const out: string[] = [];
  for (const u of users) {
    const [total, used, remaining, sum] = [u.total, u.used, u.remaining, u.ledger_sum].map(Number);
    if (total !== used + remaining) out.push(`${u.openid}: total ${total} != used ${used} + remaining ${remaining}`);
    if (remaining < 0) out.push(`${u.openid}: remaining ${remaining} < 0`);
    if (remaining !== sum) out.push(`${u.openid}: remaining ${remaining} != ledger sum ${sum}`);
  }
  return out;
}

export async function orderViolations(query: Query): Promise<string[]> {
  const rows = (await query(
    `SELECT o.order_no AS order_no, o.amount_fen AS amount_fen,
            (SELECT COUNT(*) FROM payment_records r WHERE r.order_no = o.order_no) AS records,
            (SELECT MAX(ROUND(r.amount * 100)) FROM payment_records r WHERE r.order_no = o.order_no) AS paid_fen
       FROM payment_orders o WHERE o.status = 'paid'`,
  )) as Array<{ order_no: string; amount_fen: Num | null; records: Num; paid_fen: Num | null }>;
  const out: string[] = [];
  for (const r of rows) {
    if (Number(r.records) !== 1) out.push(`${r.order_no}: ${r.records} payment records`);
    else if (r.amount_fen !== null && Number(r.paid_fen) !== Number(r.amount_fen))
      out.push(`${r.order_no}: paid ${r.paid_fen} != order ${r.amount_fen}`);
  }
  return out;
}

export async function expectInvariants(query: Query): Promise<void> {
  const problems = [...(await ledgerViolations(query)), ...(await orderViolations(query))];
  expect(problems).toEqual([]);
}
