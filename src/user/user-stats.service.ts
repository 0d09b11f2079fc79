import { Injectable } from '@nestjs/common';
import { DatabaseService } from '../database/database.service';
import { DailyMetric, sumPerDay } from '../database/per-day';

/** The user series of the console's dashboard, one number per day. */
export interface UserSeries {
  new_followers: number[];
  credits_sold: number[];
  credits_consumed: number[];
}

/** Definitions as in docs/operator-guide.md "Dashboard". */
const SERIES: Record<keyof UserSeries, DailyMetric> = {
  new_followers: { table: 'wechat_users', at: 'subscribe_time', value: '1', where: 'subscribed = 1' },
  credits_sold: { table: 'credit_ledger', at: 'created_at', value: 'delta', where: "reason = 'purchase'" },
  // Net of task refunds (`refund` entries give consumed credits back).
  credits_consumed: { table: 'credit_ledger', at: 'created_at', value: '-delta', where: "reason IN ('consume', 'refund')" },
};

/**
 * What the console's dashboard counts of user's tables (followers, credits sold and consumed), so
 * that only user/ names them; payment's numbers are PaymentQueryService's, bindings BindingService's.
 */
@Injectable()
export class UserStatsService {
  constructor(private readonly db: DatabaseService) {}

  /** The user numbers over `bounds` (one Asia/Shanghai day each), one query per series. */
  dashboard(bounds: Array<{ start: Date; end: Date }>): Promise<UserSeries> {
    return this.db.run(async (em) => {
      const series = {} as UserSeries;
      for (const [name, m] of Object.entries(SERIES)) series[name as keyof UserSeries] = await sumPerDay(em, m, bounds);
      return series;
    });
  }
}
