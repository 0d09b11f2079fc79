import { Injectable } from '@nestjs/common';
import { toIsoShanghai } from '../common/time-format';
import { DatabaseService } from '../database/database.service';
import { select, type SqlDateTime, toDate } from '../database/sql';
import { UserService } from '../user/user.service';

interface JobRow {
  name: string;
  started_at: SqlDateTime | null;
  finished_at: SqlDateTime | null;
  outcome: string;
  detail: string | null;
}

/** The background jobs the console reports on (names as written to `job_runs`). */
export const JOB_NAMES = ['order_expiry', 'refund_sync', 'reconciliation', 'notify_retention'] as const;

/**
 * The console's reads that no feature service answers (the job runs), and a user's balance before an
 * adjustment (asked of user/). Anomalies and reconciliation runs are payment's (PaymentQueryService, AnomalyService).
 */
@Injectable()
export class ConsoleOpsService {
  constructor(
    private readonly db: DatabaseService,
    private readonly users: UserService,
  ) {}

  async jobs() {
    const rows = await this.db.run((em) => select<JobRow>(em, 'SELECT name, started_at, finished_at, outcome, detail FROM job_runs'));
    const byName = new Map(rows.map((r) => [String(r.name), r]));
    return JOB_NAMES.map((name) => {
      const r = byName.get(name);
      return {
        name,
        started_at: r ? toIsoShanghai(toDate(r.started_at)) : null,
        finished_at: r ? toIsoShanghai(toDate(r.finished_at)) : null,
        outcome: r ? String(r.outcome) : 'never',
        detail: r?.detail === null || r?.detail === undefined ? null : String(r.detail),
      };
    });
  }

  /** The user's remaining credits, or null when there is no such user (the audit's "before"). */
  async balance(openid: string): Promise<number | null> {
    const user = await this.users.findByOpenid(openid);
    return user ? Number(user.remainingCredits) : null;
  }
}
