import type { OrderRow } from './order-row';

export interface CreditsGrant {
  reason: 'purchase' | 'member_bonus';
  credits: number;
}

/**
 * The credits a paid order grants (docs/data.md "Membership", "Credit packages"): a credits order
 * the package it was priced at (`credits_amount`, written at creation), a membership order the
 * configured bonus — nothing when that is 0. Ledger ref = order_no, so each is granted once.
 */
export function creditsGranted(order: Pick<OrderRow, 'order_type' | 'credits_amount'>, memberBonusCredits: number): CreditsGrant | null {
  if (order.order_type === 'member') return memberBonusCredits > 0 ? { reason: 'member_bonus', credits: memberBonusCredits } : null;
  return { reason: 'purchase', credits: order.credits_amount ?? 0 };
}
