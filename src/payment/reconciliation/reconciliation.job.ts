import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Clock } from '../../common/clock';
import { AppConfig } from '../../config/app-config';
import { DatabaseService } from '../../database/database.service';
import { trackJobRun } from '../../database/job-runs';
import { PeriodicJob } from '../../database/periodic-job';
import { execute, insertIgnore } from '../../database/sql';
import { AnomalyService } from '../anomaly.service';
import { DIFFERENCE_ANOMALY, ReconcileReport, ReconciliationService } from './reconciliation.service';
import { shanghaiDate, shanghaiHour } from '../../common/time-format';

const EVERY_MS = 3600_000;
/** WeChat Pay publishes the previous day's bill around 10:00 Beijing time. */
const BILL_READY_HOUR_SHANGHAI = 10;
/** A claimed run another process may take over after this (the claimer died). */
const LEASE_MS = 30 * 60_000;

export type DailyRunResult = { ran: false; reason: 'claimed_elsewhere' | 'database_not_ready' } | { ran: true; report: ReconcileReport };

/**
 * Daily reconciliation of yesterday's trade bill (docs/ops.md): each difference becomes a
 * `payment_anomalies` row, and payments WeChat took but we missed are applied (once, through the
 * payment gate). Safe with several processes: a bill date is claimed in `reconciliation_runs`
 * (insert-if-absent, or take over an expired lease); the anomalies and the run's `done` mark are
 * written in one transaction that only the claim holder can commit, so a date is recorded once.
 */
@Injectable()
export class ReconciliationJob extends PeriodicJob {
  constructor(
    db: DatabaseService,
    private readonly reconciliation: ReconciliationService,
    private readonly anomalies: AnomalyService,
    config: AppConfig,
    clock: Clock,
  ) {
    super(db, clock, { everyMs: EVERY_MS, enabled: config.ops.jobsEnabled });
  }

  /** Hourly: once the bill is ready, yesterday (Asia/Shanghai) is reconciled by one process. */
  protected async tick(): Promise<void> {
    const now = this.clock.now();
    if (shanghaiHour(now) < BILL_READY_HOUR_SHANGHAI || this.busy) return;
    const date = shanghaiDate(now, -1);
    await this.once(
      'reconciliation',
      () => this.run(date),
      (r) => describeRun(date, r),
    );
  }

  /** Reconciles `date` once across processes; the outcome is recorded in `job_runs` (console "Jobs"). */
  runFor(date: string): Promise<DailyRunResult> {
    return trackJobRun(
      this.db,
      this.clock,
      'reconciliation',
      () => this.run(date),
      (r) => describeRun(date, r),
    );
  }

  private async run(date: string): Promise<DailyRunResult> {
    if (!this.db.isReady) return { ran: false, reason: 'database_not_ready' };
    const token = randomUUID();
    if (!(await this.claim(date, token))) return { ran: false, reason: 'claimed_elsewhere' };
    let report: ReconcileReport;
    try {
      report = await this.reconciliation.reconcile(date, { apply: true });
    } catch (err) {
      // Give the date back at once: the next hourly tick (of any process) tries again.
      await this.db.run((em) =>
        execute(
          em,
          "UPDATE reconciliation_runs SET lease_until = ?, detail = ? WHERE bill_date = ? AND claim_token = ? AND status = 'running'",
          [new Date(this.clock.now().getTime() - 1000), `failed: ${(err as Error).message}`.slice(0, 2000), date, token],
        ),
      );
      throw err;
    }
    await this.db.transaction(async (em) => {
      for (const d of report.differences) {
        const amounts = `WeChat ${d.wechat_amount_fen ?? '-'} fen, here ${d.our_amount_fen ?? '-'} fen (${d.our_status ?? 'unknown'})`;
        const extra = [d.refund_no ? `refund ${d.refund_no}` : '', d.transaction_id ? `transaction ${d.transaction_id}` : '', d.note ?? '']
          .filter(Boolean)
          .join('; ');
        await this.anomalies.recordIn(
          em,
          d.order_no,
          DIFFERENCE_ANOMALY[d.kind],
          `trade bill ${date}: ${d.kind}; ${amounts}${extra ? `; ${extra}` : ''}`,
        );
      }
      const done = await execute(
        em,
        "UPDATE reconciliation_runs SET status = 'done', finished_at = ?, differences = ?, detail = ?, claim_token = NULL WHERE bill_date = ? AND claim_token = ? AND status = 'running'",
        [
          this.clock.now(),
          report.differences.length,
          JSON.stringify({ bill_lines: report.bill_lines, matched: report.matched }).slice(0, 2000),
          date,
          token,
        ],
      );
      // Lost the lease meanwhile: the new holder records this date; ours rolls back.
      if (done.affected !== 1) throw new Error(`reconciliation of ${date} lost its claim`);
    });
    this.logger.log(`daily reconciliation ${date}: ${report.differences.length} differences recorded`);
    return { ran: true, report };
  }

  /** Insert-if-absent, else take over a `running` claim whose lease expired. */
  private async claim(date: string, token: string): Promise<boolean> {
    const now = this.clock.now();
    const lease = new Date(now.getTime() + LEASE_MS);
    const inserted = await this.db.run((em) =>
      execute(
        em,
        `${insertIgnore(em)} reconciliation_runs (bill_date, status, claim_token, lease_until, started_at) VALUES (?, 'running', ?, ?, ?)`,
        [date, token, lease, now],
      ),
    );
    if (inserted.affected === 1) return true;
    const taken = await this.db.run((em) =>
      execute(
        em,
        "UPDATE reconciliation_runs SET claim_token = ?, lease_until = ?, started_at = ? WHERE bill_date = ? AND status = 'running' AND lease_until < ?",
        [token, lease, now, date, now],
      ),
    );
    return taken.affected === 1;
  }
}

function describeRun(date: string, r: DailyRunResult): string {
  return r.ran ? `${date}: ${r.report.differences.length} differences, ${r.report.matched} matched` : `${date}: skipped (${r.reason})`;
}
