import type { Clock } from '../common/clock';
import type { DatabaseService } from './database.service';
import { PeriodicJob } from './periodic-job';

/** A job whose run is a promise the test settles; the database is "not ready", so no run is recorded. */
class ProbeJob extends PeriodicJob {
  ticks = 0;
  release: () => void = () => undefined;
  constructor(enabled: boolean) {
    super({ isReady: false } as DatabaseService, { now: () => new Date() } as Clock, { everyMs: 10, enabled });
  }
  protected tick(): Promise<number> {
    this.ticks++;
    return this.runOnce();
  }
  runOnce(): Promise<number> {
    return this.once(
      'probe',
      () => new Promise<number>((r) => (this.release = () => r(1))),
      (n) => String(n),
    );
  }
}

describe('PeriodicJob', () => {
  afterEach(() => jest.useRealTimers());

  it('starts its timer only when enabled, and stops it at shutdown', async () => {
    jest.useFakeTimers();
    const off = new ProbeJob(false);
    off.onApplicationBootstrap();
    jest.advanceTimersByTime(50);
    expect(off.ticks).toBe(0);
    const on = new ProbeJob(true);
    on.onApplicationBootstrap();
    jest.advanceTimersByTime(35);
    expect(on.ticks).toBe(3);
    on.release();
    await on.onApplicationShutdown();
    jest.advanceTimersByTime(50);
    expect(on.ticks).toBe(3);
  });

  it('runs one at a time: a call during a run gets that run; the next call starts a new one', async () => {
    const job = new ProbeJob(false);
    const first = job.runOnce();
    const second = job.runOnce();
    expect(second).toBe(first);
    job.release();
    await expect(first).resolves.toBe(1);
    const third = job.runOnce();
    expect(third).not.toBe(first);
    job.release();
    await expect(third).resolves.toBe(1);
  });
});
