import type { EntityManager } from 'typeorm';
import type { AppConfig } from '../config/app-config';
import { expiryAfterRefund, termAfterPurchase } from './membership-term';
import { MembershipService } from './membership.service';
import { isActiveMember } from './user.service';

const NOW = new Date('2025-11-19T04:00:00Z');
const days = (n: number) => new Date(NOW.getTime() + n * 86400_000);

describe('termAfterPurchase (docs/data.md "Membership")', () => {
  it('MEMBER_DURATION_DAYS=0 sells lifetime, whatever the user had', () => {
    expect(termAfterPurchase({ isMember: false, expireAt: null }, NOW, 0)).toEqual({ lifetime: true });
    expect(termAfterPurchase({ isMember: true, expireAt: days(10) }, NOW, 0)).toEqual({ lifetime: true });
  });

  it('a first purchase runs from now', () => {
    expect(termAfterPurchase({ isMember: false, expireAt: null }, NOW, 30)).toEqual({ lifetime: false, expireAt: days(30) });
  });

  it('a renewal while the membership runs extends it from its expiry', () => {
    expect(termAfterPurchase({ isMember: true, expireAt: days(10) }, NOW, 30)).toEqual({ lifetime: false, expireAt: days(40) });
  });

  it('an expired membership, or an expiry left on a non-member, restarts from now', () => {
    expect(termAfterPurchase({ isMember: true, expireAt: days(-5) }, NOW, 30)).toEqual({ lifetime: false, expireAt: days(30) });
    expect(termAfterPurchase({ isMember: true, expireAt: NOW }, NOW, 30)).toEqual({ lifetime: false, expireAt: days(30) });
    expect(termAfterPurchase({ isMember: false, expireAt: days(10) }, NOW, 30)).toEqual({ lifetime: false, expireAt: days(30) });
  });
});

describe('expiryAfterRefund', () => {
  it('takes the refunded period off the expiry', () => {
    expect(expiryAfterRefund(days(40), NOW, 30)).toEqual(days(10));
  });

  it('never before now', () => {
    expect(expiryAfterRefund(days(20), NOW, 30)).toEqual(NOW);
    expect(expiryAfterRefund(days(-3), NOW, 30)).toEqual(NOW);
  });
});

describe('isActiveMember (is_member as the API shows it)', () => {
  it.each([
    ['lifetime, even with a past expiry', { isMember: true, memberLifetime: true, memberExpireAt: days(-1) }, true],
    ['lifetime without expiry', { isMember: true, memberLifetime: true, memberExpireAt: null }, true],
    ['timed, not yet expired', { isMember: true, memberLifetime: false, memberExpireAt: days(1) }, true],
    ['timed, expiring right now', { isMember: true, memberLifetime: false, memberExpireAt: NOW }, false],
    ['timed, expired', { isMember: true, memberLifetime: false, memberExpireAt: days(-1) }, false],
    ['flag unset, whatever else', { isMember: false, memberLifetime: true, memberExpireAt: days(1) }, false],
  ])('%s → %s', (_name, user, active) => {
    expect(isActiveMember(user, NOW)).toBe(active);
  });
});

/** A MySQL-flavoured EntityManager that answers the user row and records every write. */
function fakeEm(row: Record<string, unknown> | undefined) {
  const writes: Array<{ sql: string; params: unknown[] }> = [];
  const em = {
    connection: { options: { type: 'mysql' } },
    query: () => Promise.resolve(row ? [row] : []),
    queryRunner: {
      query: (sql: string, params: unknown[]) => {
        writes.push({ sql, params });
        return Promise.resolve({ affected: 1, raw: {} });
      },
    },
  } as unknown as EntityManager;
  return { em, writes };
}

const service = (memberDurationDays: number) => new MembershipService({ pricing: { memberDurationDays } } as AppConfig);

describe('MembershipService applies the terms', () => {
  it('lifetime: sets the lifetime flag and adds the money; says whether the user was lifetime already', async () => {
    const fresh = fakeEm({ is_member: 0, member_lifetime: 0, member_expire_at: null });
    expect(await service(0).grantIn(fresh.em, 'o1', NOW, '29.90')).toEqual({ wasLifetime: false });
    expect(fresh.writes).toHaveLength(1);
    expect(fresh.writes[0].sql).toContain('member_lifetime = 1');
    expect(fresh.writes[0].params).toEqual(['29.90', NOW, 'o1']);

    const again = fakeEm({ is_member: 1, member_lifetime: 1, member_expire_at: null });
    expect(await service(0).grantIn(again.em, 'o1', NOW, '29.90')).toEqual({ wasLifetime: true });
  });

  it('timed: writes the extended expiry', async () => {
    const { em, writes } = fakeEm({ is_member: 1, member_lifetime: 0, member_expire_at: days(10) });
    await service(30).grantIn(em, 'o1', NOW, '9.90');
    expect(writes[0].sql).toContain('member_expire_at = ?');
    expect(writes[0].params).toEqual([days(40), '9.90', NOW, 'o1']);
  });

  it('refund: ends the membership unless another paid one stands; then lifetime is kept and timed is shortened', async () => {
    const ended = fakeEm(undefined);
    expect(await service(30).refundIn(ended.em, 'o1', NOW, false)).toBe('ended');
    expect(ended.writes[0].sql).toContain('is_member = 0, member_lifetime = 0');

    expect(await service(0).refundIn(fakeEm(undefined).em, 'o1', NOW, true)).toBe('kept');
    const lifetime = fakeEm({ member_expire_at: days(10), member_lifetime: 1 });
    expect(await service(30).refundIn(lifetime.em, 'o1', NOW, true)).toBe('kept');
    expect(lifetime.writes).toHaveLength(0);

    const timed = fakeEm({ member_expire_at: days(40), member_lifetime: 0 });
    expect(await service(30).refundIn(timed.em, 'o1', NOW, true)).toBe('shortened');
    expect(timed.writes[0].params).toEqual([days(10), NOW, 'o1']);
  });
});
