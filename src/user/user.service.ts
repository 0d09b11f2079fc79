import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { DatabaseService } from '../database/database.service';
import { readBoolInt } from '../database/column-types';
import { execute, insertIgnore, select, toDate } from '../database/sql';
import { WechatUser } from './entities/wechat-user.entity';
import { grant, LedgerService } from './ledger.service';

export type UserSource = 'subscribe' | 'scan' | 'oauth' | 'unsubscribe';

const SUMMARY_COLUMNS = 'openid, remaining_credits, is_member, member_lifetime, member_expire_at, subscribed';
type SummaryRow = {
  openid: string;
  remaining_credits: number;
  is_member: unknown;
  member_lifetime: unknown;
  member_expire_at: unknown;
  subscribed: unknown;
};

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
 * initial credits granted once per openid ever, when its row is created (docs/data.md "Initial credits").
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
    return this.db.transaction((em) => this.upsertIn(em, openid, source, eventTime));
  }

  /** `upsert` inside the caller's transaction. */
  async upsertIn(em: EntityManager, openid: string, source: UserSource, eventTime?: Date): Promise<UpsertResult> {
    const now = this.clock.now();
    if (source === 'unsubscribe') {
      await execute(em, 'UPDATE wechat_users SET subscribed = 0, unsubscribed_at = ?, updated_at = ? WHERE openid = ?', [
        eventTime ?? now,
        now,
        openid,
      ]);
      return { created: false, credits_granted: 0, user: await this.summary(em, openid) };
    }
    const follows = source !== 'oauth';
    // A (re-)subscribe or a scan by a follower: following now. subscribe_time moves only on an
    // actual subscribe after an unsubscribe, so retries keep the first time. An OAuth login only
    // marks activity.
    const touch = () =>
      follows
        ? execute(
            em,
            `UPDATE wechat_users SET subscribed = 1, unsubscribed_at = NULL, last_active_time = ?, updated_at = ?,
               subscribe_time = CASE WHEN ? = 1 AND subscribed = 0 THEN ? ELSE subscribe_time END
             WHERE openid = ?`,
            [now, now, source === 'subscribe' ? 1 : 0, eventTime ?? now, openid],
          )
        : execute(em, 'UPDATE wechat_users SET last_active_time = ? WHERE openid = ?', [now, openid]);
    // Update first: for an existing user it takes the row's exclusive lock directly. Inserting
    // first would take a shared lock on the duplicate key that every concurrent delivery of the
    // same event then tries to upgrade — a deadlock on MySQL.
    if ((await touch()).affected === 1) return { created: false, credits_granted: 0, user: await this.summary(em, openid) };
    const granted = await this.createIn(em, openid, follows, follows ? (eventTime ?? now) : null, now);
    if (granted === null) {
      await touch(); // a concurrent first event inserted the row meanwhile
      return { created: false, credits_granted: 0, user: await this.summary(em, openid) };
    }
    return { created: true, credits_granted: granted, user: { openid, remaining_credits: granted, is_member: false, subscribed: follows } };
  }

  /**
   * Takes the user row's lock for the rest of the caller's transaction (a no-op update: an InnoDB
   * row lock on MySQL; on SQLite the first write takes the database lock), so checks and writes
   * about one user (order limits, a refund's take-back) are atomic across requests and processes.
   */
  async lockIn(em: EntityManager, openid: string): Promise<void> {
    await execute(em, 'UPDATE wechat_users SET updated_at = updated_at WHERE openid = ?', [openid]);
  }

  /**
   * The user row of someone who pays without one (orders normally have a caller with a row; the
   * old service may differ), inside the caller's transaction. Not a follower until WeChat says so.
   */
  async ensureIn(em: EntityManager, openid: string): Promise<void> {
    await this.createIn(em, openid, false, null, this.clock.now());
  }

  /**
   * Inserts the row unless it exists; the credits granted, or null when it existed. INITIAL_CREDITS
   * once per openid, ever: the row is born with them and their ledger entry is written in the same
   * transaction. Rows that existed before (legacy users with an opening balance) never get them.
   */
  private async createIn(
    em: EntityManager,
    openid: string,
    follows: boolean,
    subscribeTime: Date | null,
    now: Date,
  ): Promise<number | null> {
    const initial = Math.max(0, this.config.pricing.initialCredits);
    const inserted = await execute(
      em,
      `${insertIgnore(em)} wechat_users (openid, is_member, member_lifetime, total_paid_amount, total_credits, used_credits,
         remaining_credits, subscribed, subscribe_time, last_active_time, created_at, updated_at)
       VALUES (?, 0, 0, 0, ?, 0, ?, ?, ?, ?, ?, ?)`,
      [openid, initial, initial, follows, subscribeTime, now, now, now],
    );
    if (inserted.affected !== 1) return null;
    if (initial > 0) await this.ledger.recordBirthGrant(em, { openid, reason: 'signup_bonus', ref: openid, change: grant(initial) });
    return initial;
  }

  /** The user's row (null: none), for support and the console (other modules never read `wechat_users` themselves). */
  findByOpenid(openid: string): Promise<WechatUser | null> {
    return this.db.run((em) => this.findByOpenidIn(em, openid));
  }

  /** `findByOpenid` inside the caller's transaction. */
  findByOpenidIn(em: EntityManager, openid: string): Promise<WechatUser | null> {
    return em.findOneBy(WechatUser, { openid });
  }

  /**
   * One raw read of the six columns the summary needs, converted as the entity's columns convert
   * them: this runs in every push's transaction, and TypeORM's findOneBy (query builder, entity
   * hydration) was the largest single cost of a subscribe push (docs/performance.md).
   */
  private async summary(em: EntityManager, openid: string): Promise<UserSummary | null> {
    const [u] = await select<SummaryRow>(em, `SELECT ${SUMMARY_COLUMNS} FROM wechat_users WHERE openid = ? LIMIT 1`, [openid]);
    if (!u) return null;
    const member = {
      isMember: readBoolInt(u.is_member),
      memberLifetime: readBoolInt(u.member_lifetime),
      memberExpireAt: toDate(u.member_expire_at),
    };
    return {
      openid: u.openid,
      remaining_credits: u.remaining_credits,
      is_member: isActiveMember(member, this.clock.now()),
      subscribed: readBoolInt(u.subscribed),
    };
  }
}
