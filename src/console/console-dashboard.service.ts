import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { shanghaiDate, shanghaiDay } from '../common/time-format';
import { DatabaseService } from '../database/database.service';
import { DailyMetric, sumPerDay } from '../database/per-day';
import { PaymentQueryService, PaymentSeries } from '../payment/payment-query.service';

/** One number per Asia/Shanghai day, oldest first; the last is today. */
export type Series = number[];

export interface Dashboard {
  days: string[];
  series: PaymentSeries & {
    /** paid minus refunded, in fen (the page shows yuan). */
    revenue_fen: Series;
    new_followers: Series;
    desktop_bindings: Series;
    credits_sold: Series;
    credits_consumed: Series;
  };
  open_anomalies: number;
  last_reconciliation: {
    bill_date: string;
    status: string;
    differences: number | null;
    finished_at: string | null;
    detail: string | null;
  } | null;
}

type UserSeriesName = 'new_followers' | 'desktop_bindings' | 'credits_sold' | 'credits_consumed';

/** Definitions as in docs/operator-guide.md "Dashboard"; the payment ones are PaymentQueryService's. */
const USER_SERIES: Record<UserSeriesName, DailyMetric> = {
  new_followers: { table: 'wechat_users', at: 'subscribe_time', value: '1', where: 'subscribed = 1' },
  desktop_bindings: { table: 'wechat_qrcode_bindings', at: 'completed_at', value: '1', where: "status = 'completed'" },
  credits_sold: { table: 'credit_ledger', at: 'created_at', value: 'delta', where: "reason = 'purchase'" },
  // Net of task refunds (`refund` entries give consumed credits back).
  credits_consumed: { table: 'credit_ledger', at: 'created_at', value: '-delta', where: "reason IN ('consume', 'refund')" },
};

export const MAX_DASHBOARD_DAYS = 90;

/** The numbers of the console's first page, straight from the tables (no second bookkeeping). */
@Injectable()
export class ConsoleDashboardService {
  constructor(
    private readonly db: DatabaseService,
    private readonly payments: PaymentQueryService,
    private readonly clock: Clock,
  ) {}

  async dashboard(dayCount = 30): Promise<Dashboard> {
    const n = Math.min(Math.max(Math.trunc(dayCount), 1), MAX_DASHBOARD_DAYS);
    const now = this.clock.now();
    const days = Array.from({ length: n }, (_, i) => shanghaiDate(now, i - n + 1));
    const bounds = days.map((d) => shanghaiDay(d));
    const paid = await this.payments.dashboard(bounds);
    const users = await this.db.run(async (em) => {
      const out = {} as Record<UserSeriesName, Series>;
      for (const [name, m] of Object.entries(USER_SERIES)) out[name as UserSeriesName] = await sumPerDay(em, m, bounds);
      return out;
    });
    return {
      days,
      series: {
        ...paid.series,
        ...users,
        revenue_fen: paid.series.paid_fen.map((p, i) => p - paid.series.refunded_fen[i]),
      },
      open_anomalies: paid.open_anomalies,
      last_reconciliation: paid.last_reconciliation,
    };
  }
}
