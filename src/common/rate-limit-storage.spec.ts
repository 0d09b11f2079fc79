import { EventEmitter } from 'node:events';
import { Logger } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type Redis from 'ioredis';
import { FailOpenRateLimitStorage } from './rate-limit-storage';
import type { MetricsService } from '../metrics/metrics.service';

function setup(shared: ThrottlerStorage['increment']) {
  const redis = Object.assign(new EventEmitter(), { disconnect: jest.fn() }) as unknown as Redis;
  const fallbacks = jest.fn();
  const metrics = { rateLimitFallbacks: { inc: fallbacks } } as unknown as MetricsService;
  const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  const storage = new FailOpenRateLimitStorage({ increment: shared }, redis, metrics);
  return { storage, redis, fallbacks, warn };
}

describe('FailOpenRateLimitStorage', () => {
  afterEach(() => jest.restoreAllMocks());

  it('uses the shared (Redis) counters while they answer', async () => {
    const record = { totalHits: 7, timeToExpire: 60, isBlocked: false, timeToBlockExpire: 0 };
    const { storage, fallbacks } = setup(jest.fn().mockResolvedValue(record));
    expect(await storage.increment('k', 60_000, 10, 60_000, 'perIp')).toBe(record);
    expect(fallbacks).not.toHaveBeenCalled();
  });

  it('Redis failing: counts in process memory (the limit still holds per process), a metric per fallback, one warn a minute', async () => {
    const { storage, fallbacks, warn, redis } = setup(jest.fn().mockRejectedValue(new Error('Connection is closed.')));
    const records = [];
    for (let i = 0; i < 3; i++) records.push(await storage.increment('k', 60_000, 2, 60_000, 'perIp'));
    expect(records.map((r) => [r.totalHits, r.isBlocked])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
    redis.emit('error', new Error('connect ECONNREFUSED 127.0.0.1:6379'));
    expect(fallbacks).toHaveBeenCalledTimes(3);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toMatch(
      /^Redis unavailable for rate limits \(Connection is closed\.\); counting per process until it is back$/,
    );
    storage.onApplicationShutdown();
  });

  it('warns again after a minute', async () => {
    const now = jest.spyOn(Date, 'now').mockReturnValue(1_000_000);
    const { storage, warn } = setup(jest.fn().mockRejectedValue(new Error('down')));
    await storage.increment('k', 60_000, 10, 60_000, 'perIp');
    now.mockReturnValue(1_000_000 + 59_000);
    await storage.increment('k', 60_000, 10, 60_000, 'perIp');
    now.mockReturnValue(1_000_000 + 61_000);
    await storage.increment('k', 60_000, 10, 60_000, 'perIp');
    expect(warn).toHaveBeenCalledTimes(2);
    storage.onApplicationShutdown();
  });
});
