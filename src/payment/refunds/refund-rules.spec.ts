import { DomainError } from '../../common/errors';
import { creditsDue, OUTSTANDING, previewRefund, refundableFen, refundAmount, settleRefund } from './refund-rules';
import { OrderFullyRefundedError, OrderNotPaidError, RefundTooLargeError } from './refund.errors';

function refusal(f: () => unknown): DomainError {
  try {
    f();
  } catch (err) {
    return err as DomainError;
  }
  throw new Error('not refused');
}

describe('creditsDue (credits a refund takes back)', () => {
  it('takes everything the order granted on a full refund', () => {
    expect(creditsDue(100, 2990, 2990, 0)).toBe(100);
  });

  it('takes back in proportion to the money returned, rounded up', () => {
    expect(creditsDue(10, 1000, 250, 0)).toBe(3); // 2.5 → 3
    expect(creditsDue(10, 1000, 200, 0)).toBe(2); // exact
    expect(creditsDue(100, 2990, 1, 0)).toBe(1); // a single fen still takes a credit
  });

  it('counts cumulatively: the later refunds take what the earlier ones did not, never more than one full refund', () => {
    // 333 + 333 + 334 fen of a 1000-fen order that granted 10 credits: 4, then 3, then 3.
    const first = creditsDue(10, 1000, 333, 0);
    const second = creditsDue(10, 1000, 666, first);
    const third = creditsDue(10, 1000, 1000, first + second);
    expect([first, second, third]).toEqual([4, 3, 3]);
    expect(first + second + third).toBe(10);
  });

  it('never exceeds what was granted, whatever the split', () => {
    let seed = 7;
    const next = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let round = 0; round < 200; round++) {
      const orderFen = 1 + next(10_000);
      const granted = next(500);
      let refunded = 0;
      let due = 0;
      while (refunded < orderFen) {
        refunded = Math.min(orderFen, refunded + 1 + next(orderFen));
        due += creditsDue(granted, orderFen, refunded, due);
        expect(due).toBeLessThanOrEqual(granted);
      }
      expect(due).toBe(granted);
    }
  });

  it('is 0 for an order that granted nothing, a free order, or when earlier refunds already took the share', () => {
    expect(creditsDue(0, 1000, 1000, 0)).toBe(0);
    expect(creditsDue(-5, 1000, 1000, 0)).toBe(0);
    expect(creditsDue(10, 0, 0, 0)).toBe(0);
    expect(creditsDue(10, 1000, 500, 7)).toBe(0);
  });
});

describe('settleRefund (a successful refund)', () => {
  it('takes the due credits when the balance allows, and says when the order is fully refunded', () => {
    expect(settleRefund({ granted: 10, orderFen: 1000, refundedFenTotal: 1000, dueBefore: 0, balance: 50 })).toEqual({
      due: 10,
      taken: 10,
      shortfall: 0,
      fully: true,
    });
    expect(settleRefund({ granted: 10, orderFen: 1000, refundedFenTotal: 400, dueBefore: 0, balance: 50 })).toEqual({
      due: 4,
      taken: 4,
      shortfall: 0,
      fully: false,
    });
  });

  it('caps what is taken at the balance: the rest is a shortfall (refund_shortfall anomaly)', () => {
    expect(settleRefund({ granted: 10, orderFen: 1000, refundedFenTotal: 1000, dueBefore: 0, balance: 4 })).toMatchObject({
      due: 10,
      taken: 4,
      shortfall: 6,
    });
    expect(settleRefund({ granted: 10, orderFen: 1000, refundedFenTotal: 1000, dueBefore: 0, balance: -3 })).toMatchObject({
      taken: 0,
      shortfall: 10,
    });
  });

  it('reads a negative grant sum as nothing granted', () => {
    expect(settleRefund({ granted: -10, orderFen: 1000, refundedFenTotal: 1000, dueBefore: 0, balance: 50 })).toMatchObject({
      due: 0,
      taken: 0,
      fully: true,
    });
  });
});

describe('refundAmount (what a new refund may ask for)', () => {
  it('defaults to all that is left after the outstanding refunds', () => {
    expect(refundAmount('paid', 2990, 0)).toBe(2990);
    expect(refundAmount('paid', 2990, 990)).toBe(2000);
    expect(refundAmount('paid', 2990, 990, 1500)).toBe(1500);
    expect(refundAmount('paid', 2990, 990, 2000)).toBe(2000);
  });

  it('refuses more than is left, naming the most that is', () => {
    const err = refusal(() => refundAmount('paid', 2990, 990, 2001));
    expect(err).toBeInstanceOf(RefundTooLargeError);
    expect([err.status, err.detail]).toEqual([409, '退款金额超过可退金额（最多 20.00 元）']);
  });

  it('refuses an order that is refunded, not paid, or fully held by other refunds', () => {
    expect(refusal(() => refundAmount('refunded', 2990, 2990))).toBeInstanceOf(OrderFullyRefundedError);
    expect(refusal(() => refundAmount('paid', 2990, 2990))).toBeInstanceOf(OrderFullyRefundedError);
    for (const status of ['pending', 'failed', 'closed'] as const) {
      const err = refusal(() => refundAmount(status, 2990, 0));
      expect(err).toBeInstanceOf(OrderNotPaidError);
      expect([err.status, err.detail]).toEqual([409, '订单未支付，不能退款']);
    }
    expect(refusal(() => refundAmount('refunded', 2990, 0)).detail).toBe('订单已全额退款');
  });

  it('counts every refund that still holds money: pending, processing, success, abnormal (not closed or failed)', () => {
    expect([...OUTSTANDING].sort()).toEqual(['abnormal', 'pending', 'processing', 'success']);
  });
});

describe('refundableFen / previewRefund (the console confirmation)', () => {
  const base = { orderStatus: 'paid' as const, orderFen: 1000, heldFen: 0, granted: 10, refundedFenTotal: 0, dueBefore: 0, balance: 100 };

  it('is 0 unless the order is paid, and never negative', () => {
    expect(refundableFen('paid', 1000, 300)).toBe(700);
    expect(refundableFen('paid', 1000, 1200)).toBe(0);
    expect(refundableFen('refunded', 1000, 0)).toBe(0);
    expect(refundableFen('pending', 1000, 0)).toBe(0);
  });

  it('previews all that is left by default, and never more', () => {
    expect(previewRefund(base)).toEqual({ refundable: 1000, amount: 1000, due: 10, taken: 10 });
    expect(previewRefund({ ...base, requestedFen: 5000 })).toEqual({ refundable: 1000, amount: 1000, due: 10, taken: 10 });
    expect(previewRefund({ ...base, requestedFen: 250 })).toEqual({ refundable: 1000, amount: 250, due: 3, taken: 3 });
  });

  it('counts the successful refunds before it, and caps what is taken at the balance', () => {
    // 400 fen refunded already (4 credits due); 600 more completes the order: 6 more due, 2 on the balance.
    expect(previewRefund({ ...base, heldFen: 400, refundedFenTotal: 400, dueBefore: 4, balance: 2 })).toEqual({
      refundable: 600,
      amount: 600,
      due: 6,
      taken: 2,
    });
  });

  it('takes nothing when nothing can be refunded', () => {
    expect(previewRefund({ ...base, orderStatus: 'refunded' })).toEqual({ refundable: 0, amount: 0, due: 0, taken: 0 });
  });
});
