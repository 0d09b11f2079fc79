import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { DomainError } from '../common/errors';
import { toIsoShanghai } from '../common/time-format';
import { DatabaseService } from '../database/database.service';
import { execute, select, type SqlDateTime, toDate } from '../database/sql';
import { DIFFERENCE_ANOMALY } from '../payment/reconciliation/reconciliation.service';

const BILL_KINDS = Object.values(DIFFERENCE_ANOMALY);

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

interface RunRow {
  bill_date: string;
  status: string;
  started_at: SqlDateTime | null;
  finished_at: SqlDateTime | null;
  differences: number | null;
  detail: string | null;
}

interface JobRow {
  name: string;
  started_at: SqlDateTime | null;
  finished_at: SqlDateTime | null;
  outcome: string;
  detail: string | null;
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

/** The background jobs the console reports on (names as written to `job_runs`). */
export const JOB_NAMES = ['order_expiry', 'refund_sync', 'reconciliation', 'notify_retention'] as const;

/**
 * The console's reads of anomalies, reconciliation runs and job runs, and the one write that has no
 * other owner: marking an anomaly resolved (a conditional update: resolved once, by one operator).
 */
@Injectable()
export class ConsoleOpsService {
  constructor(
    private readonly db: DatabaseService,
    private readonly clock: Clock,
  ) {}

  async anomalies(f: { status?: 'open' | 'resolved' | 'all'; kind?: string; order_no?: string; since?: string }): Promise<AnomalyView[]> {
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
      params.push(new Date(f.since));
    }
    const sql = `SELECT * FROM payment_anomalies ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT 500`;
    return (await this.db.run((em) => select<AnomalyRow>(em, sql, params))).map(anomalyView);
  }

  async anomaly(id: number): Promise<AnomalyView> {
    const [row] = await this.db.run((em) => select<AnomalyRow>(em, 'SELECT * FROM payment_anomalies WHERE id = ?', [id]));
    if (!row) throw new DomainError(404, '异常不存在');
    return anomalyView(row);
  }

  async resolve(id: number, operator: string, note: string): Promise<AnomalyView> {
    const res = await this.db.run((em) =>
      execute(
        em,
        'UPDATE payment_anomalies SET resolved_at = ?, resolved_by = ?, resolution_note = ? WHERE id = ? AND resolved_at IS NULL',
        [this.clock.now(), operator, note.slice(0, 500), id],
      ),
    );
    if (res.affected !== 1) {
      await this.anomaly(id); // 404 when it does not exist
      throw new DomainError(409, '异常已处理');
    }
    return this.anomaly(id);
  }

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
      started_at: toIsoShanghai(toDate(r.started_at)),
      finished_at: toIsoShanghai(toDate(r.finished_at)),
      differences: r.differences === null ? null : Number(r.differences),
      detail: r.detail === null ? null : String(r.detail),
    }));
  }

  /** The differences the daily job recorded for a date (as `bill_*` anomalies). */
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

  async balance(openid: string): Promise<number | null> {
    const [row] = await this.db.run((em) =>
      select<{ r: number }>(em, 'SELECT remaining_credits AS r FROM wechat_users WHERE openid = ?', [openid]),
    );
    return row ? Number(row.r) : null;
  }
}

function anomalyView(a: AnomalyRow): AnomalyView {
  return {
    id: Number(a.id),
    order_no: String(a.order_no),
    kind: String(a.kind),
    detail: a.detail === null ? null : String(a.detail),
    created_at: toIsoShanghai(toDate(a.created_at)),
    resolved_at: toIsoShanghai(toDate(a.resolved_at)),
    resolved_by: a.resolved_by === null || a.resolved_by === undefined ? null : String(a.resolved_by),
    resolution_note: a.resolution_note === null || a.resolution_note === undefined ? null : String(a.resolution_note),
  };
}
