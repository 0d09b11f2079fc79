import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Clock } from '../common/clock';
import { DatabaseService } from '../database/database.service';
import { execute, select } from '../database/sql';
import { MetricsService } from '../metrics/metrics.service';
import type { AnomalyKind } from './entities/payment-anomaly.entity';
import { AnomalyNotFoundError, AnomalyResolvedError } from './payment.errors';

/**
 * `payment_anomalies`: what support must look at (refund candidates, forged or odd payments) —
 * recorded by the payment services, resolved by an operator (the console). Reads: PaymentQueryService.
 */
@Injectable()
export class AnomalyService {
  private readonly logger = new Logger(AnomalyService.name);

  constructor(
    private readonly db: DatabaseService,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
  ) {}

  /** Inside the caller's transaction (kept only if it commits). */
  async recordIn(em: EntityManager, orderNo: string, kind: AnomalyKind, detail: string): Promise<void> {
    await execute(em, 'INSERT INTO payment_anomalies (order_no, kind, detail, created_at) VALUES (?, ?, ?, ?)', [
      orderNo,
      kind,
      detail.slice(0, 2000),
      this.clock.now(),
    ]);
    this.metrics.anomalies.inc({ kind });
    this.logger.warn(`payment anomaly ${kind} on ${orderNo}`);
  }

  /** On its own, for refusals whose transaction rolls back. */
  async record(orderNo: string, kind: AnomalyKind, detail: string): Promise<void> {
    await this.db.run((em) => this.recordIn(em, orderNo, kind, detail));
  }

  /** An operator marks an anomaly resolved: a conditional update, so once, by one operator (404 unknown, 409 already). */
  async resolve(id: number, operator: string, note: string): Promise<void> {
    const res = await this.db.run((em) =>
      execute(
        em,
        'UPDATE payment_anomalies SET resolved_at = ?, resolved_by = ?, resolution_note = ? WHERE id = ? AND resolved_at IS NULL',
        [this.clock.now(), operator, note.slice(0, 500), id],
      ),
    );
    if (res.affected === 1) return;
    const [row] = await this.db.run((em) => select<{ id: number }>(em, 'SELECT id FROM payment_anomalies WHERE id = ?', [id]));
    if (!row) throw new AnomalyNotFoundError();
    throw new AnomalyResolvedError();
  }
}
