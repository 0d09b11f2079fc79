/** The date arithmetic of membership (docs/data.md "Membership"), pure: MembershipService applies it. */

const DAY_MS = 86400_000;

/** What a paid membership order makes of the user's membership. */
export type MembershipTerm = { lifetime: true } | { lifetime: false; expireAt: Date };

/**
 * A paid membership order: lifetime when `days` (MEMBER_DURATION_DAYS) is 0; otherwise `days` more,
 * counted from the current expiry while the membership still runs, else from now.
 */
export function termAfterPurchase(current: { isMember: boolean; expireAt: Date | null }, now: Date, days: number): MembershipTerm {
  if (days === 0) return { lifetime: true };
  const running = current.isMember && current.expireAt !== null && current.expireAt.getTime() > now.getTime();
  const from = running ? current.expireAt!.getTime() : now.getTime();
  return { lifetime: false, expireAt: new Date(from + days * DAY_MS) };
}

/**
 * A refunded timed membership order while another paid one still stands: the refunded `days`
 * come off the expiry, which never moves before now.
 */
export function expiryAfterRefund(expireAt: Date, now: Date, days: number): Date {
  return new Date(Math.max(now.getTime(), expireAt.getTime() - days * DAY_MS));
}
