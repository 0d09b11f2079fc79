/** Money is integers: fen. These helpers are the only place yuan strings and fen meet. */

/** "29.9" → 2990, "0.01" → 1. Throws on anything that is not a non-negative amount with ≤ 2 decimals. */
export function yuanToFen(yuan: string | number): number {
  const s = typeof yuan === 'number' ? yuan.toFixed(2) : yuan.trim();
  const m = /^(\d+)(?:\.(\d{1,2}))?$/.exec(s);
  if (!m) throw new Error(`not a yuan amount: ${s}`);
  const fen = Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
  if (!Number.isSafeInteger(fen)) throw new Error(`amount too large: ${s}`);
  return fen;
}

/** 2990 → 29.9 (a JSON number with at most two decimals). */
export function fenToYuanNumber(fen: number): number {
  return Math.round(fen) / 100;
}

/** 2990 → "29.90" (DECIMAL(10,2) column value, display). */
export function fenToYuanString(fen: number): string {
  const sign = fen < 0 ? '-' : '';
  const a = Math.abs(Math.round(fen));
  return `${sign}${Math.floor(a / 100)}.${String(a % 100).padStart(2, '0')}`;
}
