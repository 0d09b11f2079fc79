import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { DomainError } from '../common/errors';
import { DatabaseService } from '../database/database.service';
import { execute, select } from '../database/sql';
import { consume, LedgerService, refundTask, TaskKey, taskRef } from './ledger.service';
import { TaskAmbiguousError, TaskNotFoundError, UserNotFoundError } from './user.errors';

export interface ConsumeRequest {
  openid: string;
  taskId: string;
  taskType: string;
  amount: number;
  requestImageCount?: number;
  successImageCount?: number;
}

export interface RefundRequest {
  /** The task's user; without it the task must have been consumed by exactly one user. */
  openid?: string;
  taskId: string;
  taskType: string;
  amount?: number;
}

/**
 * Spending and giving back credits per task (docs/internal.md consume/refund). Members pay too.
 * A task is (user, task_type, task_id), compared byte for byte: the same ids from two users are two
 * tasks, each charged to its own user (docs/limits.md "Orders and credits").
 */
@Injectable()
export class CreditsService {
  constructor(
    private readonly db: DatabaseService,
    private readonly ledger: LedgerService,
    private readonly clock: Clock,
  ) {}

  /**
   * One transaction: ledger entry (unique per task of this user), conditional balance update, usage
   * row. Short → 402 and nothing written. The same task again → the first result, nothing taken twice.
   */
  consume(req: ConsumeRequest): Promise<{ consumed: number; remaining_credits: number }> {
    const key: TaskKey = {
      openid: req.openid,
      taskType: checkedTaskPart('task_type', req.taskType),
      taskId: checkedTaskPart('task_id', req.taskId),
    };
    return this.db.transaction(async (em) => {
      // One read: the user exists, and whether this user already consumed this task.
      const [user] = await select<{ r: number; d: number | null }>(
        em,
        `SELECT u.remaining_credits AS r, l.delta AS d FROM wechat_users u
           LEFT JOIN credit_ledger l ON l.openid = u.openid AND l.reason = 'consume' AND l.task_type = ? AND l.task_id = ?
          WHERE u.openid = ?`,
        [key.taskType, key.taskId, key.openid],
      );
      if (!user) throw new UserNotFoundError();
      if (user.d !== null && user.d !== undefined) return { consumed: -Number(user.d), remaining_credits: Number(user.r) };
      const res = await this.ledger.apply(em, {
        openid: key.openid,
        reason: 'consume',
        ref: taskRef(key),
        task: { type: key.taskType, id: key.taskId },
        change: consume(req.amount),
      });
      if (!res.applied) {
        // A concurrent repeat of the same task won the insert: its result.
        const first = await this.ledger.findTask(em, 'consume', key);
        return { consumed: -first!.delta, remaining_credits: await this.ledger.balance(em, key.openid) };
      }
      await execute(
        em,
        `INSERT INTO credits_usage (openid, task_id, task_type, credits_used, request_image_count, success_image_count, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
        [key.openid, key.taskId, key.taskType, req.amount, req.requestImageCount ?? 1, req.successImageCount ?? 1, this.clock.now()],
      );
      return { consumed: req.amount, remaining_credits: await this.ledger.balance(em, key.openid) };
    });
  }

  /**
   * Gives back at most what the task consumed, once, to the user who was charged. Unknown task →
   * 404 任务不存在; no user named and several users have such a task → 409 (never a guess).
   */
  refund(req: RefundRequest): Promise<{ refunded: number; remaining_credits: number }> {
    const taskType = checkedTaskPart('task_type', req.taskType);
    const taskId = checkedTaskPart('task_id', req.taskId);
    return this.db.transaction(async (em) => {
      let openid = req.openid;
      if (!openid) {
        const owners = await this.ledger.taskOwners(em, taskType, taskId);
        if (owners.length === 0) throw new TaskNotFoundError();
        if (owners.length > 1) throw new TaskAmbiguousError();
        openid = owners[0];
      }
      const key: TaskKey = { openid, taskType, taskId };
      const consumed = await this.ledger.findTask(em, 'consume', key);
      if (!consumed) throw new TaskNotFoundError();
      const earlier = await this.ledger.findTask(em, 'refund', key);
      if (earlier) return { refunded: earlier.delta, remaining_credits: await this.ledger.balance(em, openid) };
      const r = Math.min(req.amount ?? -consumed.delta, -consumed.delta);
      const res = await this.ledger.apply(em, {
        openid,
        reason: 'refund',
        ref: taskRef(key),
        task: { type: taskType, id: taskId },
        change: refundTask(r),
      });
      if (res.applied) return { refunded: r, remaining_credits: await this.ledger.balance(em, openid) };
      const first = await this.ledger.findTask(em, 'refund', key);
      return { refunded: first!.delta, remaining_credits: await this.ledger.balance(em, openid) };
    });
  }
}

/**
 * Task ids compare byte for byte, but MySQL's binary collations still ignore trailing spaces
 * (PAD SPACE): `JobA` and `JobA ` would be one task. Leading/trailing whitespace is refused instead.
 */
function checkedTaskPart(field: 'task_type' | 'task_id', value: string): string {
  if (value !== value.trim()) throw new DomainError(400, `${field}: 首尾不能有空白字符`);
  return value;
}
