import { isDuplicateNumber, newOrderNo, newRefundNo } from './numbers';

describe('order and refund numbers', () => {
  // 2025-01-02 03:04:05 UTC = 11:04:05 in Asia/Shanghai.
  const now = new Date(Date.UTC(2025, 0, 2, 3, 4, 5));

  it('order numbers are ORD + the Shanghai time + 6 random [A-Z0-9]', () => {
    expect(newOrderNo(now)).toMatch(/^ORD20250102110405[A-Z0-9]{6}$/);
  });

  it('refund numbers are RF + the Shanghai time + 8 random [A-Z0-9] (a valid out_refund_no)', () => {
    const no = newRefundNo(now);
    expect(no).toMatch(/^RF20250102110405[A-Z0-9]{8}$/);
    expect(no).toMatch(/^[A-Za-z0-9_\-|*@]{1,64}$/);
  });

  it('are random within one second', () => {
    expect(new Set(Array.from({ length: 50 }, () => newRefundNo(now))).size).toBe(50);
  });

  it('tell a duplicate-key error (MySQL, SQLite) from other failures', () => {
    expect(isDuplicateNumber(new Error("Duplicate entry 'ORD1' for key 'order_no'"))).toBe(true);
    expect(isDuplicateNumber(new Error('UNIQUE constraint failed: payment_refunds.refund_no'))).toBe(true);
    expect(isDuplicateNumber(new Error('connection lost'))).toBe(false);
  });
});
