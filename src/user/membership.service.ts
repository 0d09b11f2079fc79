import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { execute, select, toDate } from '../database/sql';
import { expiryAfterRefund, termAfterPurchase } from './membership-term';

/**
 * Membership and the money a user paid, as the user's row holds them (docs/data.md "Membership").
 * The user module owns `wechat_users`: payments and refunds ask this service, inside their own
 * transaction, instead of writing the row themselves.
 */
@Injectable()
export class MembershipService {
  constructor(private readonly config: AppConfig) {}

  /**
   * A paid membership order: lifetime (MEMBER_DURATION_DAYS=0), or extended from max(now, current
   * expiry); the paid total moves in the same update. Says whether the user was a lifetime member
   * already (money was taken all the same: the caller flags a refund candidate).
   */
  async grantIn(em: EntityManager, openid: string, now: Date, paidYuan: string): Promise<{ wasLifetime: boolean }> {
    const [u] = await select<{ is_member: number; member_lifetime: number; member_expire_at: unknown }>(
      em,
      'SELECT is_member, member_lifetime, member_expire_at FROM wechat_users WHERE openid = ?',
      [openid],
    );
    const wasLifetime = Number(u.is_member) === 1 && Number(u.member_lifetime) === 1;
    const term = termAfterPurchase(
      { isMember: Number(u.is_member) === 1, expireAt: toDate(u.member_expire_at) },
      now,
      this.config.pricing.memberDurationDays,
    );
    if (term.lifetime) {
      await execute(
        em,
        'UPDATE wechat_users SET is_member = 1, member_lifetime = 1, total_paid_amount = ROUND(total_paid_amount + ?, 2), updated_at = ? WHERE openid = ?',
        [paidYuan, now, openid],
      );
    } else {
      await execute(
        em,
        'UPDATE wechat_users SET is_member = 1, member_expire_at = ?, total_paid_amount = ROUND(total_paid_amount + ?, 2), updated_at = ? WHERE openid = ?',
        [term.expireAt, paidYuan, now, openid],
      );
    }
    return { wasLifetime };
  }

  /**
   * A fully refunded membership order: membership ends — unless another paid membership order of
   * the user still stands (a duplicate purchase): then lifetime stays, and a timed one loses the
   * refunded period (never before now).
   */
  async refundIn(em: EntityManager, openid: string, now: Date, anotherStands: boolean): Promise<'ended' | 'shortened' | 'kept'> {
    if (!anotherStands) {
      await execute(em, 'UPDATE wechat_users SET is_member = 0, member_lifetime = 0, updated_at = ? WHERE openid = ?', [now, openid]);
      return 'ended';
    }
    const days = this.config.pricing.memberDurationDays;
    if (days === 0) return 'kept';
    const [u] = await select<{ member_expire_at: unknown; member_lifetime: number }>(
      em,
      'SELECT member_expire_at, member_lifetime FROM wechat_users WHERE openid = ?',
      [openid],
    );
    const expiry = toDate(u?.member_expire_at);
    if (!expiry || Number(u.member_lifetime) === 1) return 'kept';
    const shortened = expiryAfterRefund(expiry, now, days);
    await execute(em, 'UPDATE wechat_users SET member_expire_at = ?, updated_at = ? WHERE openid = ?', [shortened, now, openid]);
    return 'shortened';
  }

  /** Money given back: the paid total goes down (an unsigned legacy column: never below 0). */
  async refundPaidIn(em: EntityManager, openid: string, yuan: string): Promise<void> {
    await execute(
      em,
      'UPDATE wechat_users SET total_paid_amount = CASE WHEN total_paid_amount >= ? THEN ROUND(total_paid_amount - ?, 2) ELSE 0 END WHERE openid = ?',
      [yuan, yuan, openid],
    );
  }
}
