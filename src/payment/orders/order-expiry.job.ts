import { Injectable } from '@nestjs/common';
import { Clock } from '../../common/clock';
import { AppConfig } from '../../config/app-config';
import { DatabaseService } from '../../database/database.service';
import { BatchJob } from '../../database/periodic-job';
import { select } from '../../database/sql';
import { OrderService } from './order.service';

const EVERY_MS = 60_000;
const BATCH = 50;
/** One process handles an expired order per window; another may retry it after this. */
const CLAIM_WINDOW_MS = 30_000;

/**
 * Every minute: close expired pending orders at WeChat Pay and here (docs/data.md "Orders"). Safe with
 * several processes: each order is claimed by a conditional update before anyone calls WeChat,
 * and the final status change is conditional too. A payment that beat the close is applied.
 */
@Injectable()
export class OrderExpiryJob extends BatchJob {
  constructor(
    db: DatabaseService,
    private readonly orders: OrderService,
    config: AppConfig,
    clock: Clock,
  ) {
    super(db, clock, { name: 'order_expiry', did: 'expired orders closed', everyMs: EVERY_MS, enabled: config.ops.jobsEnabled });
  }

  /** Closes what has expired; returns how many orders this process handled. */
  protected async work(): Promise<number> {
    if (!this.db.isReady) return 0;
    const expired = await this.db.run((em) =>
      select<{ order_no: string }>(
        em,
        `SELECT order_no FROM payment_orders WHERE status = 'pending' AND expire_at < ? ORDER BY expire_at LIMIT ${BATCH}`,
        [this.clock.now()],
      ),
    );
    let handled = 0;
    for (const { order_no } of expired) {
      if (!(await this.orders.claimQuery(order_no, CLAIM_WINDOW_MS))) continue;
      try {
        await this.orders.closeAtWechat(order_no);
        handled++;
      } catch (err) {
        this.logger.warn(`could not close expired order ${order_no}: ${(err as Error).message}`);
      }
    }
    if (handled) this.logger.log(`closed ${handled} expired orders`);
    return handled;
  }
}
