import { Injectable } from '@nestjs/common';
import { BindingService } from '../binding/binding.service';
import { Clock } from '../common/clock';
import { shanghaiDate, shanghaiDay } from '../common/time-format';
import { PaymentQueryService, PaymentSeries } from '../payment/payment-query.service';
import { UserStatsService } from '../user/user-stats.service';

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

export const MAX_DASHBOARD_DAYS = 90;

/**
 * The numbers of the console's first page, straight from the tables (no second bookkeeping), each
 * asked of the module that owns the table (docs/operator-guide.md "Dashboard" defines them).
 */
@Injectable()
export class ConsoleDashboardService {
  constructor(
    private readonly payments: PaymentQueryService,
    private readonly users: UserStatsService,
    private readonly bindings: BindingService,
    private readonly clock: Clock,
  ) {}

  async dashboard(dayCount = 30): Promise<Dashboard> {
    const n = Math.min(Math.max(Math.trunc(dayCount), 1), MAX_DASHBOARD_DAYS);
    const now = this.clock.now();
    const days = Array.from({ length: n }, (_, i) => shanghaiDate(now, i - n + 1));
    const bounds = days.map((d) => shanghaiDay(d));
    const paid = await this.payments.dashboard(bounds);
    const users = await this.users.dashboard(bounds);
    const desktops = await this.bindings.completedPerDay(bounds);
    return {
      days,
      series: {
        ...paid.series,
        new_followers: users.new_followers,
        desktop_bindings: desktops,
        credits_sold: users.credits_sold,
        credits_consumed: users.credits_consumed,
        revenue_fen: paid.series.paid_fen.map((p, i) => p - paid.series.refunded_fen[i]),
      },
      open_anomalies: paid.open_anomalies,
      last_reconciliation: paid.last_reconciliation,
    };
  }
}
