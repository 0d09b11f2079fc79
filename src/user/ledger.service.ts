import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Clock } from '../common/clock';
import { execute, insertIgnore, select } from '../database/sql';
import type { LedgerReason } from './entities/credit-ledger.entity';
import { InsufficientCreditsError } from './user.errors';

/** How one ledger entry moves the three balance columns (data.md "Credit arithmetic"). */
export interface BalanceChange {
  remaining: number;
  total: number;
  used: number;
}

export interface LedgerEntryRequest {
  openid: string;
  reason: LedgerReason;
  /** With `reason`, the idempotency key: UNIQUE (reason, ref) lets each change happen once. */
  ref: string;
  change: BalanceChange;
}

export type LedgerResult = { applied: true; balanceAfter: number; entryId: number } | { applied: false };

/** Grants: purchase, bonuses, opening balance, positive adjustments. */
export const grant = (n: number): BalanceChange => ({ remaining: n, total: n, used: 0 });
/** Spending credits on a task. */
export const consume = (n: number): BalanceChange => ({ remaining: -n, total: 0, used: n });
/** Giving back what a task consumed. */
export const refundTask = (n: number): BalanceChange => ({ remaining: n, total: 0, used: -n });
/** Taking back granted credits (negative admin adjustment, payment refund). */
export const takeBack = (n: number): BalanceChange => ({ remaining: -n, total: -n, used: 0 });

/**
 * The only way credits change: inside the caller's transaction, insert the ledger entry unless
 * (reason, ref) exists, then move the balance with one conditional update that can never go
 * below zero. Refusal throws, so the transaction rolls the entry back: nothing is written.
 * No SELECT … FOR UPDATE: behaves the same on MySQL (row locks) and SQLite (serialised).
 */
@Injectable()
export class LedgerService {
  constructor(private readonly clock: Clock) {}

  async apply(em: EntityManager, req: LedgerEntryRequest): Promise<LedgerResult> {
    const delta = req.change.remaining;
    const inserted = await execute(
      em,
      `${insertIgnore(em)} credit_ledger (openid, delta, balance_after, reason, ref, created_at) VALUES (?, ?, 0, ?, ?, ?)`,
      [req.openid, delta, req.reason, req.ref, this.clock.now()],
    );
    if (inserted.affected !== 1) return { applied: false };

    const sets: string[] = [];
    const setParams: number[] = [];
    const guards: string[] = [];
    const guardParams: number[] = [];
    for (const [column, d] of [
      ['remaining_credits', req.change.remaining],
      ['total_credits', req.change.total],
      ['used_credits', req.change.used],
    ] as const) {
      if (d === 0) continue;
      // Unsigned legacy columns: subtract a positive number under a >= guard, never add a negative.
      sets.push(d > 0 ? `${column} = ${column} + ?` : `${column} = ${column} - ?`);
      setParams.push(Math.abs(d));
      if (d < 0) {
        guards.push(`${column} >= ?`);
        guardParams.push(-d);
      }
    }
    if (sets.length) {
      const updated = await execute(
        em,
        `UPDATE wechat_users SET ${sets.join(', ')}, updated_at = ? WHERE openid = ?${guards.map((g) => ` AND ${g}`).join('')}`,
        [...setParams, this.clock.now(), req.openid, ...guardParams],
      );
      if (updated.affected !== 1) throw new InsufficientCreditsError();
    }
    const [row] = await select<{ r: number }>(em, 'SELECT remaining_credits AS r FROM wechat_users WHERE openid = ?', [req.openid]);
    const balanceAfter = Number(row.r);
    await execute(em, 'UPDATE credit_ledger SET balance_after = ? WHERE id = ?', [balanceAfter, inserted.insertId]);
    return { applied: true, balanceAfter, entryId: inserted.insertId! };
  }

  /** The entry of (reason, ref), if it exists (idempotent replays read the first result). */
  async find(em: EntityManager, reason: LedgerReason, ref: string): Promise<{ openid: string; delta: number; balanceAfter: number } | null> {
    const [row] = await select<{ openid: string; delta: number; balance_after: number }>(
      em,
      'SELECT openid, delta, balance_after FROM credit_ledger WHERE reason = ? AND ref = ?',
      [reason, ref],
    );
    return row ? { openid: row.openid, delta: Number(row.delta), balanceAfter: Number(row.balance_after) } : null;
  }
}
