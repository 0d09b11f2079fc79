import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Clock } from '../common/clock';
import { toIsoShanghai } from '../common/time-format';
import { DatabaseService } from '../database/database.service';
import { select, type SqlDateTime, toDate } from '../database/sql';
import { shanghaiDate, shanghaiDay } from '../common/time-format';

/** One number per Asia/Shanghai day, oldest first; the last is today. */
export type Series = number[];

export interface Dashboard {
  days: string[];
  series: {
    paid_fen: Series;
    refunded_fen: Series;
    /** paid minus refunded, in fen (the page shows yuan). */
    revenue_fen: Series;
    orders_paid: Series;
    orders_failed: Series;
    orders_closed: Series;
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

interface Metric {
  table: string;
  /** The instant that puts a row in a day. */
  at: string;
  /** What a row adds (1 to count). */
  value: string;
  where: string;
}

/** Definitions as in docs/operator-guide.md "Dashboard": each one a single indexed range scan. */
const METRICS: Record<Exclude<keyof Dashboard['series'], 'revenue_fen'>, Metric> = {
  paid_fen: {
    table: 'payment_orders',
    at: 'paid_at',
    value: 'COALESCE(amount_fen, ROUND(amount * 100))',
    where: "status IN ('paid', 'refunded')",
  },
  refunded_fen: { table: 'payment_refunds', at: 'completed_at', value: 'amount_fen', where: "status = 'success'" },
  orders_paid: { table: 'payment_orders', at: 'paid_at', value: '1', where: "status IN ('paid', 'refunded')" },
  orders_failed: { table: 'payment_orders', at: 'created_at', value: '1', where: "status = 'failed'" },
  orders_closed: { table: 'payment_orders', at: 'COALESCE(closed_at, created_at)', value: '1', where: "status = 'closed'" },
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
    private readonly clock: Clock,
  ) {}

  async dashboard(dayCount = 30): Promise<Dashboard> {
    const n = Math.min(Math.max(Math.trunc(dayCount), 1), MAX_DASHBOARD_DAYS);
    const now = this.clock.now();
    const days = Array.from({ length: n }, (_, i) => shanghaiDate(now, i - n + 1));
    const bounds = days.map((d) => shanghaiDay(d));
    return this.db.run(async (em) => {
      const series = {} as Dashboard['series'];
      for (const [name, m] of Object.entries(METRICS)) series[name as keyof typeof METRICS] = await this.perDay(em, m, bounds);
      series.revenue_fen = series.paid_fen.map((p, i) => p - series.refunded_fen[i]);
      const [{ n: open }] = await select<{ n: number | string }>(
        em,
        'SELECT COUNT(*) AS n FROM payment_anomalies WHERE resolved_at IS NULL',
      );
      const [run] = await select<{
        bill_date: string;
        status: string;
        differences: number | null;
        finished_at: SqlDateTime | null;
        detail: string | null;
      }>(em, 'SELECT bill_date, status, differences, finished_at, detail FROM reconciliation_runs ORDER BY bill_date DESC LIMIT 1');
      return {
        days,
        series,
        open_anomalies: Number(open),
        last_reconciliation: run
          ? {
              bill_date: String(run.bill_date),
              status: String(run.status),
              differences: run.differences === null ? null : Number(run.differences),
              finished_at: toIsoShanghai(toDate(run.finished_at)),
              detail: run.detail === null ? null : String(run.detail),
            }
          : null,
      };
    });
  }

  /** One query per metric: a SUM(CASE …) column per day over the whole range (same SQL on MySQL and SQLite). */
  private async perDay(em: EntityManager, m: Metric, bounds: Array<{ start: Date; end: Date }>): Promise<Series> {
    const cols = bounds.map((_, i) => `COALESCE(SUM(CASE WHEN ${m.at} >= ? AND ${m.at} < ? THEN ${m.value} ELSE 0 END), 0) AS d${i}`);
    const params: unknown[] = bounds.flatMap((b) => [b.start, b.end]);
    params.push(bounds[0].start, bounds[bounds.length - 1].end);
    const [row] = await select<Record<string, unknown>>(
      em,
      `SELECT ${cols.join(', ')} FROM ${m.table} WHERE ${m.at} >= ? AND ${m.at} < ? AND ${m.where}`,
      params,
    );
    return bounds.map((_, i) => Number(row?.[`d${i}`] ?? 0));
  }
}
