import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { ThrottlerStorage, ThrottlerStorageService } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import type Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';

const WARN_EVERY_MS = 60_000;
const READY_WAIT_MS = 2000;

/**
 * The throttler's counters (docs/limits.md "Shared rate limits"): in Redis when REDIS_URL is set,
 * so a limit holds for every process and host of the deployment; in process memory otherwise.
 *
 * Redis is never a reason to refuse a request: while it cannot answer, each process counts in its
 * own memory (the limit is per process again, as without Redis), counts the fallbacks in a metric
 * and warns at most once a minute; ioredis reconnects by itself and the shared counters resume.
 */
export class FailOpenRateLimitStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly logger = new Logger('RateLimit');
  private readonly memory = new ThrottlerStorageService();
  private lastWarn = 0;

  constructor(
    private readonly shared: ThrottlerStorage,
    private readonly redis: Redis,
    private readonly metrics: MetricsService,
  ) {
    // Without a listener ioredis prints every connection error with a stack.
    redis.on('error', (err: Error) => this.unavailable(err));
  }

  async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    try {
      return await this.shared.increment(key, ttl, limit, blockDuration, throttlerName);
    } catch (err) {
      this.unavailable(err as Error);
      this.metrics.rateLimitFallbacks.inc();
      return this.memory.increment(key, ttl, limit, blockDuration, throttlerName);
    }
  }

  private unavailable(err: Error): void {
    const now = Date.now();
    if (now - this.lastWarn < WARN_EVERY_MS) return;
    this.lastWarn = now;
    this.logger.warn(`Redis unavailable for rate limits (${err.message.split('\n')[0]}); counting per process until it is back`);
  }

  onApplicationShutdown(): void {
    this.redis.disconnect(false);
    this.memory.onApplicationShutdown();
  }
}

/**
 * The storage ThrottlerModule uses: shared through Redis when configured, else the package's
 * in-memory default. Start-up waits (≤ 2 s) for Redis to be ready so the first requests count in
 * Redis too; a Redis that is down does not hold the start up longer.
 */
export async function rateLimitStorage(config: AppConfig, metrics: MetricsService): Promise<ThrottlerStorage | undefined> {
  if (!config.redis.url) return undefined;
  // Loaded only when configured: ioredis and its storage are ~40 modules a deployment without Redis
  // would keep in memory for nothing (docs/performance.md "Memory").
  const [{ default: RedisClient }, { ThrottlerStorageRedisService }] = await Promise.all([
    import('ioredis'),
    import('@nest-lab/throttler-storage-redis'),
  ]);
  const redis = new RedisClient(config.redis.url, {
    keyPrefix: config.redis.keyPrefix,
    // Fail fast instead of queueing: a request never waits for Redis to come back.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 250,
    connectTimeout: 2000,
    // Reconnect forever, at most every 2 s: recovery needs no restart.
    retryStrategy: (times) => Math.min(100 * times, 2000),
  });
  const storage = new FailOpenRateLimitStorage(new ThrottlerStorageRedisService(redis), redis, metrics);
  await new Promise<void>((ready) => {
    const timer = setTimeout(ready, READY_WAIT_MS);
    redis.once('ready', () => {
      clearTimeout(timer);
      ready();
    });
  });
  return storage;
}
