import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { DatabaseService } from '../database/database.service';
import { execute, insertIgnore, select } from '../database/sql';
import { WechatUser } from './entities/wechat-user.entity';
import { grant, LedgerService } from './ledger.service';

export type UserSource = 'subscribe' | 'scan' | 'oauth' | 'unsubscribe';

export interface UserSummary {
  openid: string;
  remaining_credits: number;
  is_member: boolean;
  subscribed: boolean;
}

export interface UpsertResult {
  created: boolean;
  credits_granted: number;
  user: UserSummary | null;
}

/** `is_member` as the API shows it: flag set and (lifetime or not yet expired). */
export function isActiveMember(u: Pick<WechatUser, 'isMember' | 'memberLifetime' | 'memberExpireAt'>, now: Date): boolean {
  return !!u.isMember && (!!u.memberLifetime || (!!u.memberExpireAt && u.memberExpireAt.getTime() > now.getTime()));
}

/**
 * Users as WeChat events and OAuth reveal them: created once, subscription state tracked, and the
 * initial credits granted once per openid ever (data.md "Initial credits").
 */
@Injectable()
export class UserService {
  constructor(
    private readonly db: DatabaseService,
    private readonly ledger: LedgerService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /** Idempotent: a WeChat retry of the same event changes nothing twice. */
  upsert(openid: string, source: UserSource, eventTime?: Date): Promise<UpsertResult> {
    return this.db.transaction(async (em) => {
      const now = this.clock.now();
      if (source === 'unsubscribe') {
        await execute(em, 'UPDATE wechat_users SET subscribed = 0, unsubscribed_at = ?, updated_at = ? WHERE openid = ?', [eventTime ?? now, now, openid]);
        return { created: false, credits_granted: 0, user: await this.summary(em, openid) };
      }
      const follows = source !== 'oauth';
      const created =
        (
          await execute(
            em,
            `${insertIgnore(em)} wechat_users (openid, is_member, member_lifetime, total_paid_amount, total_credits, used_credits,
               remaining_credits, subscribed, subscribe_time, last_active_time, created_at, updated_at)
             VALUES (?, 0, 0, 0, 0, 0, 0, ?, ?, ?, ?, ?)`,
            [openid, follows, follows ? eventTime ?? now : null, now, now, now],
          )
        ).affected === 1;
      if (!created) {
        if (follows) {
          // A (re-)subscribe or a scan by a follower: following now. subscribe_time moves only on
          // an actual subscribe after an unsubscribe, so retries keep the first time.
          await execute(
            em,
            `UPDATE wechat_users SET subscribed = 1, unsubscribed_at = NULL, last_active_time = ?, updated_at = ?,
               subscribe_time = CASE WHEN ? = 1 AND subscribed = 0 THEN ? ELSE subscribe_time END
             WHERE openid = ?`,
            [now, now, source === 'subscribe' ? 1 : 0, eventTime ?? now, openid],
          );
        } else {
          await execute(em, 'UPDATE wechat_users SET last_active_time = ? WHERE openid = ?', [now, openid]);
        }
      }
      const granted = await this.grantInitialCredits(em, openid);
      return { created, credits_granted: granted, user: await this.summary(em, openid) };
    });
  }

  /** INITIAL_CREDITS once per openid, ever; legacy users (opening balance) get nothing. */
  private async grantInitialCredits(em: EntityManager, openid: string): Promise<number> {
    const n = this.config.pricing.initialCredits;
    if (n <= 0) return 0;
    const opening = await select(em, "SELECT 1 AS x FROM credit_ledger WHERE reason = 'opening_balance' AND ref = ?", [openid]);
    if (opening.length) return 0;
    const res = await this.ledger.apply(em, { openid, reason: 'signup_bonus', ref: openid, change: grant(n) });
    return res.applied ? n : 0;
  }

  async findByOpenid(openid: string): Promise<WechatUser | null> {
    return this.db.run((em) => em.findOneBy(WechatUser, { openid }));
  }

  private async summary(em: EntityManager, openid: string): Promise<UserSummary | null> {
    const u = await em.findOneBy(WechatUser, { openid });
    if (!u) return null;
    return { openid: u.openid, remaining_credits: u.remainingCredits, is_member: isActiveMember(u, this.clock.now()), subscribed: u.subscribed };
  }
}
