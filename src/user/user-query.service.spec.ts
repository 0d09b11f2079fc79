import type { CallerUser } from './caller-identity.service';
import { membershipView } from './user-query.service';

const NOW = new Date('2025-11-19T04:46:29Z'); // 12:46:29 in Shanghai
const user = (u: Partial<CallerUser>): CallerUser => ({
  openid: 'o1',
  subscribed: true,
  isMember: false,
  memberLifetime: false,
  memberExpireAt: null,
  totalCredits: 0,
  usedCredits: 0,
  remainingCredits: 0,
  ...u,
});

describe('membershipView (docs/data.md "Membership")', () => {
  it.each([
    [
      'lifetime member: no expiry shown, even a stale one',
      { isMember: true, memberLifetime: true, memberExpireAt: new Date('2020-01-01T00:00:00Z') },
      true,
      null,
    ],
    ['timed member before expiry', { isMember: true, memberExpireAt: new Date('2025-12-01T16:00:00Z') }, true, '2025-12-02 00:00:00'],
    ['timed member at the expiry instant', { isMember: true, memberExpireAt: NOW }, false, '2025-11-19 12:46:29'],
    ['timed member after expiry', { isMember: true, memberExpireAt: new Date('2025-11-01T00:00:00Z') }, false, '2025-11-01 08:00:00'],
    ['member flag without expiry or lifetime', { isMember: true }, false, null],
    ['not a member', {}, false, null],
    ['lifetime flag without the member flag', { memberLifetime: true }, false, null],
  ])('%s', (_name, u, isMember, expireAt) => {
    expect(membershipView(user(u), NOW)).toEqual({ is_member: isMember, member_expire_at: expireAt });
  });
});
