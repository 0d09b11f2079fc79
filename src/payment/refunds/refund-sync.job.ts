import { Injectable } from '@nestjs/common';
import { Clock } from '../../common/clock';
import { AppConfig } from '../../config/app-config';
import { DatabaseService } from '../../database/database.service';
import { BatchJob } from '../../database/periodic-job';
import { execute, select } from '../../database/sql';
import { RefundRequestService } from './refund-request.service';

const EVERY_MS = 5 * 60_000;
/** A refund without a final result after this is asked about (its notification may be lost). */
const STALE_AFTER_MS = 10 * 60_000;
/** One process asks about a refund per window. */
const CLAIM_WINDOW_MS = 30 * 60_000;
const BATCH = 20;

/**
 * Every 5 minutes: refunds still pending (WeChat's answer lost: resent with the same refund_no) or
 * processing (result notification lost: queried) are moved on, each claimed by one process by a
 * conditional update of `last_queried_at`. Results go through RefundApplyService like notifications.
 */
@Injectable()
export class RefundSyncJob extends BatchJob<[staleAfterMs?: number]> {
  constructor(
    db: DatabaseService,
    private readonly requests: RefundRequestService,
    config: AppConfig,
    clock: Clock,
  ) {
    super(db, clock, { name: 'refund_sync', did: 'refunds moved on', everyMs: EVERY_MS, enabled: config.ops.jobsEnabled });
  }

  protected async work(staleAfterMs = STALE_AFTER_MS): Promise<number> {
    if (!this.db.isReady) return 0;
    let handled = 0;
    for (const refundNo of await this.claimStale(staleAfterMs, CLAIM_WINDOW_MS, BATCH)) {
      try {
        await this.requests.sync(refundNo);
        handled++;
      } catch (err) {
        this.logger.warn(`refund ${refundNo} not synced: ${(err as Error).message}`);
      }
    }
    return handled;
  }

  /** Refunds stuck without a final result (lost notification, lost answer), oldest first, claimed one process at a time. */
  private async claimStale(olderThanMs: number, intervalMs: number, limit: number): Promise<string[]> {
    const now = this.clock.now();
    const rows = await this.db.run((em) =>
      select<{ refund_no: string }>(
        em,
        `SELECT refund_no FROM payment_refunds WHERE status IN ('pending', 'processing') AND created_at <= ?
         AND (last_queried_at IS NULL OR last_queried_at <= ?) ORDER BY id LIMIT ${Math.max(1, Math.floor(limit))}`,
        [new Date(now.getTime() - olderThanMs), new Date(now.getTime() - intervalMs)],
      ),
    );
    const claimed: string[] = [];
    for (const { refund_no } of rows) {
      const res = await this.db.run((em) =>
        execute(
          em,
          "UPDATE payment_refunds SET last_queried_at = ? WHERE refund_no = ? AND status IN ('pending', 'processing') AND (last_queried_at IS NULL OR last_queried_at <= ?)",
          [now, refund_no, new Date(now.getTime() - intervalMs)],
        ),
      );
      if (res.affected === 1) claimed.push(refund_no);
    }
    return claimed;
  }
}
