import type { Clock } from '../common/clock';
import type { DatabaseService } from './database.service';
import { BatchJob, PeriodicJob } from './periodic-job';

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

/** A batch job; the database is "not ready", so its runs are not recorded. */
class CountJob extends BatchJob<[size?: number]> {
  seen: number[] = [];
  constructor() {
    super({ isReady: false } as DatabaseService, { now: () => new Date(0) } as Clock, {
      name: 'count',
      did: 'items counted',
      everyMs: 10,
      enabled: false,
    });
  }
  protected work(size = 7): Promise<number> {
    this.seen.push(size);
    return Promise.resolve(size);
  }
  fire(): Promise<unknown> {
    return this.tick();
  }
}

describe('BatchJob', () => {
  it('the timer runs its work with the default arguments, runOnce with the caller arguments; both through once()', async () => {
    const job = new CountJob();
    const once = jest.spyOn(job as unknown as { once: (...a: unknown[]) => unknown }, 'once');
    await expect(job.fire()).resolves.toBe(7);
    await expect(job.runOnce(3)).resolves.toBe(3);
    expect(job.seen).toEqual([7, 3]);
    expect(once).toHaveBeenCalledTimes(2);
    const [name, , describe] = once.mock.calls[0] as [string, unknown, (n: number) => string];
    expect(name).toBe('count');
    expect(describe(7)).toBe('7 items counted');
  });
});
