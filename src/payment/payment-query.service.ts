import { Injectable } from '@nestjs/common';
import { toIsoShanghai } from '../common/time-format';
import { fenToYuanNumber } from '../config/money';
import { DatabaseService } from '../database/database.service';
import { DailyMetric, sumPerDay } from '../database/per-day';
import { select, type SqlDateTime, toDate } from '../database/sql';
import { orderFen } from './orders/order-row';
import { OrderRepository } from './orders/order.repository';
import { AnomalyNotFoundError } from './payment.errors';
import { DIFFERENCE_ANOMALY } from './reconciliation/reconciliation.service';

/** A `payment_anomalies` row as raw SQL reads it. */
interface AnomalyRow {
  id: number | string;
  order_no: string;
  kind: string;
  detail: string | null;
  created_at: SqlDateTime;
  resolved_at: SqlDateTime | null;
  resolved_by: string | null;
  resolution_note: string | null;
}

export interface AnomalyView {
  id: number;
  order_no: string;
  kind: string;
  detail: string | null;
  created_at: string | null;
  resolved_at: string | null;
  resolved_by: string | null;
  resolution_note: string | null;
}

export interface AnomalyFilter {
  /** Default `open`. */
  status?: 'open' | 'resolved' | 'all';
  kind?: string;
  order_no?: string;
  since?: Date;
}

interface RunRow {
  bill_date: string;
  status: string;
  started_at: SqlDateTime | null;
  finished_at: SqlDateTime | null;
  differences: number | null;
  detail: string | null;
}

/** The payment series of the console's dashboard, one number per day. */
export interface PaymentSeries {
  paid_fen: number[];
  refunded_fen: number[];
  orders_paid: number[];
  orders_failed: number[];
  orders_closed: number[];
}

/** Definitions as in docs/operator-guide.md "Dashboard". */
const SERIES: Record<keyof PaymentSeries, DailyMetric> = {
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
};

const BILL_KINDS = Object.values(DIFFERENCE_ANOMALY);

/**
 * What support (admin/) and the console read of payment's tables, so that only payment/ touches
 * them: a user's orders, anomalies, reconciliation runs, the dashboard's payment numbers. Read only.
 */
@Injectable()
export class PaymentQueryService {
  constructor(
    private readonly db: DatabaseService,
    private readonly orders: OrderRepository,
  ) {}

  /** The owner of an order, or null when there is no such order. */
  orderOwner(orderNo: string): Promise<string | null> {
    return this.orders.ownerOf(orderNo);
  }

  /** A user's last 20 orders, newest first, as support shows them. */
  async latestOrders(openid: string) {
    return (await this.orders.latestOf(openid, 20)).map((o) => ({
      order_no: o.order_no,
      order_type: o.order_type,
      amount: fenToYuanNumber(orderFen(o)),
      credits_amount: o.credits_amount === null ? null : Number(o.credits_amount),
      status: o.status,
      pay_version: o.pay_version,
      transaction_id: o.wx_transaction_id,
      failure_reason: o.failure_reason,
      created_at: iso(o.created_at),
      paid_at: iso(o.paid_at),
      closed_at: iso(o.closed_at),
    }));
  }

  /** Anomalies, newest first, at most 500. */
  async anomalies(f: AnomalyFilter): Promise<AnomalyView[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const status = f.status ?? 'open';
    if (status === 'open') where.push('resolved_at IS NULL');
    if (status === 'resolved') where.push('resolved_at IS NOT NULL');
    if (f.kind) {
      where.push('kind = ?');
      params.push(f.kind);
    }
    if (f.order_no) {
      where.push('order_no = ?');
      params.push(f.order_no);
    }
    if (f.since) {
      where.push('created_at >= ?');
      params.push(f.since);
    }
    const sql = `SELECT * FROM payment_anomalies ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT 500`;
    return (await this.db.run((em) => select<AnomalyRow>(em, sql, params))).map(anomalyView);
  }

  /** Every anomaly of these orders, newest first. */
  async anomaliesOfOrders(orderNos: string[]): Promise<AnomalyView[]> {
    if (!orderNos.length) return [];
    const rows = await this.db.run((em) =>
      select<AnomalyRow>(
        em,
        `SELECT * FROM payment_anomalies WHERE order_no IN (${orderNos.map(() => '?').join(',')}) ORDER BY id DESC`,
        orderNos,
      ),
    );
    return rows.map(anomalyView);
  }

  /** One anomaly (404 when there is none). */
  async anomaly(id: number): Promise<AnomalyView> {
    const [row] = await this.db.run((em) => select<AnomalyRow>(em, 'SELECT * FROM payment_anomalies WHERE id = ?', [id]));
    if (!row) throw new AnomalyNotFoundError();
    return anomalyView(row);
  }

  /** The last 60 daily reconciliation runs, newest date first. */
  async reconciliationRuns() {
    const rows = await this.db.run((em) =>
      select<RunRow>(
        em,
        'SELECT bill_date, status, started_at, finished_at, differences, detail FROM reconciliation_runs ORDER BY bill_date DESC LIMIT 60',
      ),
    );
    return rows.map((r) => ({
      bill_date: String(r.bill_date),
      status: String(r.status),
      started_at: iso(r.started_at),
      finished_at: iso(r.finished_at),
      differences: r.differences === null ? null : Number(r.differences),
      detail: r.detail === null ? null : String(r.detail),
    }));
  }

  /** The differences the daily job recorded for a date (as `bill_*` anomalies: ReconciliationJob). */
  async reconciliationDifferences(date: string): Promise<AnomalyView[]> {
    const rows = await this.db.run((em) =>
      select<AnomalyRow>(
        em,
        `SELECT * FROM payment_anomalies WHERE kind IN (${BILL_KINDS.map(() => '?').join(', ')}) AND detail LIKE ? ORDER BY id`,
        [...BILL_KINDS, `trade bill ${date}:%`],
      ),
    );
    return rows.map(anomalyView);
  }

  /** The dashboard's payment numbers over `bounds` (one Asia/Shanghai day each), open anomalies, the last reconciliation. */
  dashboard(bounds: Array<{ start: Date; end: Date }>) {
    return this.db.run(async (em) => {
      const series = {} as PaymentSeries;
      for (const [name, m] of Object.entries(SERIES)) series[name as keyof PaymentSeries] = await sumPerDay(em, m, bounds);
      const [{ n: open }] = await select<{ n: number | string }>(
        em,
        'SELECT COUNT(*) AS n FROM payment_anomalies WHERE resolved_at IS NULL',
      );
      const [run] = await select<Omit<RunRow, 'started_at'>>(
        em,
        'SELECT bill_date, status, differences, finished_at, detail FROM reconciliation_runs ORDER BY bill_date DESC LIMIT 1',
      );
      return {
        series,
        open_anomalies: Number(open),
        last_reconciliation: run
          ? {
              bill_date: String(run.bill_date),
              status: String(run.status),
              differences: run.differences === null ? null : Number(run.differences),
              finished_at: iso(run.finished_at),
              detail: run.detail === null ? null : String(run.detail),
            }
          : null,
      };
    });
  }
}

function iso(v: unknown): string | null {
  return toIsoShanghai(toDate(v));
}

function anomalyView(a: AnomalyRow): AnomalyView {
  return {
    id: Number(a.id),
    order_no: String(a.order_no),
    kind: String(a.kind),
    detail: a.detail === null ? null : String(a.detail),
    created_at: iso(a.created_at),
    resolved_at: iso(a.resolved_at),
    resolved_by: a.resolved_by === null || a.resolved_by === undefined ? null : String(a.resolved_by),
    resolution_note: a.resolution_note === null || a.resolution_note === undefined ? null : String(a.resolution_note),
  };
}
