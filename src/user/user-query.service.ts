import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { toIsoShanghai, toLegacyDateTime } from '../common/time-format';
import { DatabaseService } from '../database/database.service';
import { select, toDate } from '../database/sql';
import type { CallerUser } from './caller-identity.service';
import {
  CreditsLedgerResponseDto,
  CreditsResponseDto,
  CreditsUsageItemDto,
  CreditsUsageResponseDto,
  LedgerEntryDto,
  MemberStatusResponseDto,
} from './dto/user-responses.dto';
import type { LedgerReason } from './entities/credit-ledger.entity';
import { displayRef } from './ledger.service';
import { isActiveMember } from './user.service';

export interface PageRequest {
  limit: number;
  beforeId?: number;
}

/** Membership as the API shows it (docs/data.md): lifetime members have no expiry to show. */
export function membershipView(u: CallerUser, now: Date): { is_member: boolean; member_expire_at: string | null } {
  return {
    is_member: isActiveMember(u, now),
    member_expire_at: u.memberLifetime ? null : toLegacyDateTime(u.memberExpireAt),
  };
}

/**
 * Read models of `/api/v1/user/*`. Balances and membership come from the caller's row, read while
 * resolving the caller (one query for the hottest endpoint); histories page by id, newest first.
 * Support's lookup (admin/) shows the same ledger page.
 */
@Injectable()
export class UserQueryService {
  constructor(
    private readonly db: DatabaseService,
    private readonly clock: Clock,
  ) {}

  credits(u: CallerUser): CreditsResponseDto {
    const m = membershipView(u, this.clock.now());
    return {
      success: true,
      total_credits: u.totalCredits,
      used_credits: u.usedCredits,
      remaining_credits: u.remainingCredits,
      is_member: m.is_member,
      member_expire_at: m.member_expire_at,
      is_followed: u.subscribed,
    };
  }

  memberStatus(u: CallerUser): MemberStatusResponseDto {
    const m = membershipView(u, this.clock.now());
    return { success: true, is_member: m.is_member, member_expire_at: m.member_expire_at };
  }

  async creditsUsage(openid: string, page: PageRequest): Promise<CreditsUsageResponseDto> {
    const rows = await this.db.run((em) =>
      select<{
        id: unknown;
        task_id: string;
        task_type: string;
        credits_used: unknown;
        request_image_count: unknown;
        success_image_count: unknown;
        created_at: unknown;
      }>(
        em,
        `SELECT id, task_id, task_type, credits_used, request_image_count, success_image_count, created_at
           FROM credits_usage WHERE openid = ?${page.beforeId ? ' AND id < ?' : ''} ORDER BY id DESC LIMIT ?`,
        page.beforeId ? [openid, page.beforeId, page.limit] : [openid, page.limit],
      ),
    );
    const data = rows.map((r): CreditsUsageItemDto => ({
      id: Number(r.id),
      task_id: r.task_id,
      task_type: r.task_type,
      credits_used: Number(r.credits_used),
      request_image_count: Number(r.request_image_count),
      success_image_count: Number(r.success_image_count),
      created_at: toLegacyDateTime(toDate(r.created_at)),
    }));
    return { success: true, count: data.length, data };
  }

  async creditsLedger(openid: string, page: PageRequest): Promise<CreditsLedgerResponseDto> {
    const rows = await this.db.run((em) =>
      select<{
        id: unknown;
        delta: unknown;
        balance_after: unknown;
        reason: LedgerReason;
        ref: string;
        task_type: string | null;
        task_id: string | null;
        created_at: unknown;
      }>(
        em,
        `SELECT id, delta, balance_after, reason, ref, task_type, task_id, created_at
           FROM credit_ledger WHERE openid = ?${page.beforeId ? ' AND id < ?' : ''} ORDER BY id DESC LIMIT ?`,
        page.beforeId ? [openid, page.beforeId, page.limit] : [openid, page.limit],
      ),
    );
    const data = rows.map((r): LedgerEntryDto => ({
      id: Number(r.id),
      delta: Number(r.delta),
      balance_after: Number(r.balance_after),
      reason: r.reason,
      ref: displayRef(r),
      created_at: toIsoShanghai(toDate(r.created_at))!,
    }));
    return { success: true, data };
  }
}
