import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { Clock } from '../common/clock';
import { execute, insertIgnore, select } from '../database/sql';
import type { LedgerReason } from './entities/credit-ledger.entity';
import { InsufficientCreditsError } from './user.errors';

/** How one ledger entry moves the three balance columns (docs/data.md "Credit arithmetic"). */
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
  /** A purchase: the money paid (yuan, 2 decimals) moves `total_paid_amount` in the same update. */
  paidYuan?: string;
  /** Consume/refund entries: the task, unique per (reason, task, openid) — see `TaskKey`. */
  task?: { type: string; id: string };
}

/** A task of one user: the idempotency key of its consume and refund entries. */
export interface TaskKey {
  openid: string;
  taskType: string;
  taskId: string;
}

/**
 * The ref of a task's entries: a hash of the user and both ids, so UNIQUE (reason, ref) is per user
 * and unambiguous (JSON keeps `x:y`+`Z` apart from `x`+`y:Z`); lowercase hex compares the same under
 * any collation. What the entry is about is shown from the task columns (`displayRef`).
 */
export function taskRef(key: TaskKey): string {
  return `task:${createHash('sha256')
    .update(JSON.stringify([key.openid, key.taskType, key.taskId]))
    .digest('hex')}`;
}

/** What an entry is about, as the ledger views show it: `task_type:task_id` for tasks, else the ref. */
export function displayRef(row: { ref: string; task_type?: string | null; task_id?: string | null }): string {
  return row.task_type != null && row.task_id != null ? `${row.task_type}:${row.task_id}` : row.ref;
}

export type LedgerResult = { applied: true; entryId: number } | { applied: false };

/** Grants: purchase, bonuses, opening balance, positive adjustments. */
export const grant = (n: number): BalanceChange => ({ remaining: n, total: n, used: 0 });
/** Spending credits on a task. */
export const consume = (n: number): BalanceChange => ({ remaining: -n, total: 0, used: n });
/** Giving back what a task consumed. */
export const refundTask = (n: number): BalanceChange => ({ remaining: n, total: 0, used: -n });
/** Taking back granted credits (negative admin adjustment, payment refund). */
export const takeBack = (n: number): BalanceChange => ({ remaining: -n, total: -n, used: 0 });

/**
 * The only way credits change, inside the caller's transaction, in two statements: move the
 * balance with one conditional update that can never go below zero (it takes the user row's lock),
 * then insert the ledger entry unless (reason, ref) exists, its `balance_after` read from the row
 * just updated. A refused update throws, so the transaction writes nothing (unless the entry
 * exists: a replay); an entry that already existed gives the balance back with the inverse update
 * — under the row lock, so no other change can slip in between. No SELECT … FOR UPDATE: behaves
 * the same on MySQL (row locks) and SQLite (serialised). Callers that answer with the balance read
 * it themselves (`balance`).
 */
@Injectable()
export class LedgerService {
  constructor(private readonly clock: Clock) {}

  async apply(em: EntityManager, req: LedgerEntryRequest): Promise<LedgerResult> {
    const now = this.clock.now();
    if (!(await this.move(em, req.openid, req.change, now, req.paidYuan))) {
      // Refused (short, or no such user) — unless this is a replay of an entry already made, which
      // answers as a replay whatever the balance is now.
      if (await this.find(em, req.reason, req.ref)) return { applied: false };
      throw new InsufficientCreditsError();
    }
    const inserted = await execute(
      em,
      `${insertIgnore(em)} credit_ledger (openid, delta, balance_after, reason, ref, task_type, task_id, created_at)
       SELECT openid, ?, remaining_credits, ?, ?, ?, ?, ? FROM wechat_users WHERE openid = ?`,
      [req.change.remaining, req.reason, req.ref, req.task?.type ?? null, req.task?.id ?? null, now, req.openid],
    );
    if (inserted.affected === 1) return { applied: true, entryId: inserted.insertId! };
    const inverse = { remaining: -req.change.remaining, total: -req.change.total, used: -req.change.used };
    if (!(await this.move(em, req.openid, inverse, now, req.paidYuan, true)))
      throw new Error(`ledger: could not undo a replayed ${req.reason}`);
    return { applied: false };
  }

  /** The three balance columns moved by `change` in one conditional update; false when refused. */
  private async move(
    em: EntityManager,
    openid: string,
    change: BalanceChange,
    now: Date,
    paidYuan?: string,
    undo = false,
  ): Promise<boolean> {
    const sets: string[] = [];
    const setParams: Array<number | string> = [];
    const guards: string[] = [];
    const guardParams: number[] = [];
    for (const [column, d] of [
      ['remaining_credits', change.remaining],
      ['total_credits', change.total],
      ['used_credits', change.used],
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
    if (paidYuan !== undefined) {
      sets.push(`total_paid_amount = ROUND(total_paid_amount ${undo ? '-' : '+'} ?, 2)`);
      setParams.push(paidYuan);
    }
    // With nothing to move, the update still proves the user exists (the entry needs its row).
    sets.push('updated_at = ?');
    const updated = await execute(
      em,
      `UPDATE wechat_users SET ${sets.join(', ')} WHERE openid = ?${guards.map((g) => ` AND ${g}`).join('')}`,
      [...setParams, now, openid, ...guardParams],
    );
    return updated.affected === 1;
  }

  /**
   * The entry of a grant a user row was inserted with, in the same transaction (a new user is
   * born with its initial credits: one statement instead of an insert and an update). Should the
   * entry exist already (a row deleted by hand and created again), the row gives the grant back.
   */
  async recordBirthGrant(em: EntityManager, req: LedgerEntryRequest): Promise<LedgerResult> {
    const now = this.clock.now();
    const inserted = await execute(
      em,
      `${insertIgnore(em)} credit_ledger (openid, delta, balance_after, reason, ref, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
      [req.openid, req.change.remaining, req.change.remaining, req.reason, req.ref, now],
    );
    if (inserted.affected === 1) return { applied: true, entryId: inserted.insertId! };
    const inverse = { remaining: -req.change.remaining, total: -req.change.total, used: -req.change.used };
    if (!(await this.move(em, req.openid, inverse, now, undefined, true)))
      throw new Error(`ledger: could not undo a repeated ${req.reason}`);
    return { applied: false };
  }

  /** The balance as this transaction sees it (answers that report `remaining_credits`). */
  async balance(em: EntityManager, openid: string): Promise<number> {
    const [row] = await select<{ r: number }>(em, 'SELECT remaining_credits AS r FROM wechat_users WHERE openid = ?', [openid]);
    return Number(row?.r ?? 0);
  }

  /** The entry of (reason, ref), if it exists (idempotent replays read the first result). */
  async find(
    em: EntityManager,
    reason: LedgerReason,
    ref: string,
  ): Promise<{ openid: string; delta: number; balanceAfter: number } | null> {
    const [row] = await select<{ openid: string; delta: number; balance_after: number }>(
      em,
      'SELECT openid, delta, balance_after FROM credit_ledger WHERE reason = ? AND ref = ?',
      [reason, ref],
    );
    return row ? { openid: row.openid, delta: Number(row.delta), balanceAfter: Number(row.balance_after) } : null;
  }

  /** The entry of one user's task (binary comparison: the columns are utf8mb4_bin on MySQL). */
  async findTask(em: EntityManager, reason: 'consume' | 'refund', key: TaskKey): Promise<{ delta: number } | null> {
    const [row] = await select<{ delta: number }>(
      em,
      'SELECT delta FROM credit_ledger WHERE reason = ? AND task_type = ? AND task_id = ? AND openid = ?',
      [reason, key.taskType, key.taskId, key.openid],
    );
    return row ? { delta: Number(row.delta) } : null;
  }

  /**
   * The credits an order granted — its `purchase` and `member_bonus` entries (ref = the order number) —
   * as the caller's transaction sees them: what the order's refunds may take back (payment/refunds).
   */
  async grantedByOrder(em: EntityManager, orderNo: string): Promise<number> {
    const [{ granted }] = await select<{ granted: number | string | null }>(
      em,
      "SELECT COALESCE(SUM(delta), 0) AS granted FROM credit_ledger WHERE reason IN ('purchase', 'member_bonus') AND ref = ?",
      [orderNo],
    );
    return Number(granted ?? 0);
  }

  /** The users who consumed a task of this type and id (a refund that names no user needs exactly one). */
  async taskOwners(em: EntityManager, taskType: string, taskId: string): Promise<string[]> {
    const rows = await select<{ openid: string }>(
      em,
      "SELECT openid FROM credit_ledger WHERE reason = 'consume' AND task_type = ? AND task_id = ? ORDER BY id LIMIT 2",
      [taskType, taskId],
    );
    return rows.map((r) => r.openid);
  }
}
