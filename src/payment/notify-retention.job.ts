import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { DatabaseService } from '../database/database.service';
import { BatchJob } from '../database/periodic-job';
import { execute, select } from '../database/sql';

const EVERY_MS = 6 * 3600_000;
const BATCH = 500;

/**
 * Raw notification bodies are kept `NOTIFY_DATA_RETENTION_DAYS` (docs/ops.md) and then cleared:
 * `payment_records.notify_data` and `payment_refunds.raw`. Amounts, ids and times stay. Batched by
 * id so no statement locks much; idempotent, so several processes may run it at once.
 */
@Injectable()
export class NotifyRetentionJob extends BatchJob {
  constructor(
    db: DatabaseService,
    private readonly config: AppConfig,
    clock: Clock,
  ) {
    super(db, clock, { name: 'notify_retention', did: 'rows cleared', everyMs: EVERY_MS, enabled: config.ops.jobsEnabled });
  }

  /** Clears what is older than the retention; returns how many rows were cleared. */
  protected async work(): Promise<number> {
    if (!this.db.isReady) return 0;
    const cutoff = new Date(this.clock.now().getTime() - this.config.ops.notifyDataRetentionDays * 86400_000);
    const cleared =
      (await this.clearTable('payment_records', 'notify_data', 'COALESCE(created_at, payment_time)', cutoff)) +
      (await this.clearTable('payment_refunds', 'raw', 'COALESCE(completed_at, created_at)', cutoff));
    if (cleared)
      this.logger.log(`cleared raw notification data of ${cleared} rows older than ${this.config.ops.notifyDataRetentionDays} days`);
    return cleared;
  }

  private async clearTable(table: string, column: string, timeExpr: string, cutoff: Date): Promise<number> {
    let total = 0;
    for (;;) {
      const ids = await this.db.run((em) =>
        select<{ id: number }>(em, `SELECT id FROM ${table} WHERE ${column} IS NOT NULL AND ${timeExpr} < ? ORDER BY id LIMIT ${BATCH}`, [
          cutoff,
        ]),
      );
      if (!ids.length) return total;
      const res = await this.db.run((em) =>
        execute(
          em,
          `UPDATE ${table} SET ${column} = NULL WHERE id IN (${ids.map(() => '?').join(', ')})`,
          ids.map((r) => r.id),
        ),
      );
      total += res.affected;
      if (ids.length < BATCH) return total;
    }
  }
}
