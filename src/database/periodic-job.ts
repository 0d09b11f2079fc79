import { Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Clock } from '../common/clock';
import type { DatabaseService } from './database.service';
import { trackJobRun } from './job-runs';

/**
 * The shell the background jobs share (order expiry, refund sync, reconciliation, retention): a
 * timer started at boot when JOBS_ENABLED (off by default under NODE_ENV=test, where tests run a
 * job themselves), one run at a time in this process, every run recorded in `job_runs` (the
 * console's "Jobs"), a failed run one warn line, and at shutdown the timer stopped and the run in
 * progress awaited. Jobs stay safe across processes by their own claims in the database.
 */
export abstract class PeriodicJob implements OnApplicationBootstrap, OnApplicationShutdown {
  protected readonly logger = new Logger(this.constructor.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  protected constructor(
    protected readonly db: DatabaseService,
    protected readonly clock: Clock,
    private readonly schedule: { everyMs: number; enabled: boolean },
  ) {}

  /** What the timer does each time; a failure is logged, never thrown. */
  protected abstract tick(): Promise<unknown>;

  onApplicationBootstrap(): void {
    if (!this.schedule.enabled) return;
    this.timer = setInterval(
      () => void this.tick().catch((e: Error) => this.logger.warn(`run failed: ${e.message}`)),
      this.schedule.everyMs,
    );
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** True while a run of this job is in progress in this process. */
  protected get busy(): boolean {
    return this.running !== null;
  }

  /**
   * Runs `work` recorded in `job_runs` as `name`, one at a time: a call while a run is in progress
   * gets that run's result.
   */
  protected once<T>(name: string, work: () => Promise<T>, describe: (r: T) => string): Promise<T> {
    this.running ??= trackJobRun(this.db, this.clock, name, work, describe).finally(() => (this.running = null));
    return this.running as Promise<T>;
  }
}

/**
 * A periodic job whose run handles one batch and counts it (order expiry, refund sync, retention):
 * the timer and `runOnce()` (tests, the console) run `work` through `once`, recorded as `name` with
 * "<count> <did>".
 */
export abstract class BatchJob<Args extends unknown[] = []> extends PeriodicJob {
  protected constructor(
    db: DatabaseService,
    clock: Clock,
    private readonly batch: { name: string; did: string; everyMs: number; enabled: boolean },
  ) {
    super(db, clock, batch);
  }

  /** One batch; returns how many items it handled. */
  protected abstract work(...args: Args): Promise<number>;

  protected tick(): Promise<number> {
    return this.runOnce(...([] as unknown as Args));
  }

  runOnce(...args: Args): Promise<number> {
    return this.once(
      this.batch.name,
      () => this.work(...args),
      (n) => `${n} ${this.batch.did}`,
    );
  }
}
