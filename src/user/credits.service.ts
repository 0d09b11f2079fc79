import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { DatabaseService } from '../database/database.service';
import { execute, select } from '../database/sql';
import { consume, LedgerService, refundTask } from './ledger.service';
import { TaskNotFoundError, UserNotFoundError } from './user.errors';

export interface ConsumeRequest {
  openid: string;
  taskId: string;
  taskType: string;
  amount: number;
  requestImageCount?: number;
  successImageCount?: number;
}

/** Spending and giving back credits per task (internal.md consume/refund). Members pay too. */
@Injectable()
export class CreditsService {
  constructor(
    private readonly db: DatabaseService,
    private readonly ledger: LedgerService,
    private readonly clock: Clock,
  ) {}

  /**
   * One transaction: ledger entry (unique per task), conditional balance update, usage row.
   * Short → 402 and nothing written. The same task again → the first result, nothing taken twice.
   */
  consume(req: ConsumeRequest): Promise<{ consumed: number; remaining_credits: number }> {
    const ref = taskRef(req.taskType, req.taskId);
    return this.db.transaction(async (em) => {
      const [user] = await select<{ r: number }>(em, 'SELECT remaining_credits AS r FROM wechat_users WHERE openid = ?', [req.openid]);
      if (!user) throw new UserNotFoundError();
      const res = await this.ledger.apply(em, { openid: req.openid, reason: 'consume', ref, change: consume(req.amount) });
      if (!res.applied) {
        const first = await this.ledger.find(em, 'consume', ref);
        return { consumed: -first!.delta, remaining_credits: await this.ledger.balance(em, first!.openid) };
      }
      await execute(
        em,
        `INSERT INTO credits_usage (openid, task_id, task_type, credits_used, request_image_count, success_image_count, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
        [req.openid, req.taskId, req.taskType, req.amount, req.requestImageCount ?? 1, req.successImageCount ?? 1, this.clock.now()],
      );
      return { consumed: req.amount, remaining_credits: await this.ledger.balance(em, req.openid) };
    });
  }

  /** Gives back at most what the task consumed, once; unknown task → 404 任务不存在. */
  refund(taskType: string, taskId: string, amount?: number): Promise<{ refunded: number; remaining_credits: number }> {
    const ref = taskRef(taskType, taskId);
    return this.db.transaction(async (em) => {
      const consumed = await this.ledger.find(em, 'consume', ref);
      if (!consumed) throw new TaskNotFoundError();
      const r = Math.min(amount ?? -consumed.delta, -consumed.delta);
      const res = await this.ledger.apply(em, { openid: consumed.openid, reason: 'refund', ref, change: refundTask(r) });
      if (res.applied) return { refunded: r, remaining_credits: await this.ledger.balance(em, consumed.openid) };
      const first = await this.ledger.find(em, 'refund', ref);
      return { refunded: first!.delta, remaining_credits: await this.ledger.balance(em, consumed.openid) };
    });
  }
}

/** The ledger ref of a task: `task_type:task_id` (data.md). */
export function taskRef(taskType: string, taskId: string): string {
  return `${taskType}:${taskId}`;
}
