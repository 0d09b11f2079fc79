import { creditsGranted } from './order-grants';
import { orderFen } from './order-row';

describe('creditsGranted (what a paid order grants)', () => {
  it('grants a credits order the package it was priced at, as a purchase', () => {
    expect(creditsGranted({ order_type: 'credits', credits_amount: 100 }, 10)).toEqual({ reason: 'purchase', credits: 100 });
    expect(creditsGranted({ order_type: 'credits', credits_amount: 500 }, 0)).toEqual({ reason: 'purchase', credits: 500 });
  });

  it('grants a membership order the configured bonus, and no entry when the bonus is 0', () => {
    expect(creditsGranted({ order_type: 'member', credits_amount: null }, 10)).toEqual({ reason: 'member_bonus', credits: 10 });
    expect(creditsGranted({ order_type: 'member', credits_amount: 999 }, 10)).toEqual({ reason: 'member_bonus', credits: 10 });
    expect(creditsGranted({ order_type: 'member', credits_amount: null }, 0)).toBeNull();
  });

  it('still records a purchase for a credits order without a package amount (a legacy row)', () => {
    expect(creditsGranted({ order_type: 'credits', credits_amount: null }, 10)).toEqual({ reason: 'purchase', credits: 0 });
  });
});

describe('orderFen', () => {
  it('is amount_fen, or the legacy yuan amount when it is NULL', () => {
    expect(orderFen({ amount: '29.90', amount_fen: 2990 })).toBe(2990);
    expect(orderFen({ amount: '29.90', amount_fen: null })).toBe(2990);
    expect(orderFen({ amount: 0.01, amount_fen: null })).toBe(1);
  });
});
