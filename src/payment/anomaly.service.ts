import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Clock } from '../common/clock';
import { DatabaseService } from '../database/database.service';
import { execute } from '../database/sql';
import { MetricsService } from '../metrics/metrics.service';
import type { AnomalyKind } from './entities/payment-anomaly.entity';

/** `payment_anomalies`: what support must look at (refund candidates, forged or odd payments). */
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
}
