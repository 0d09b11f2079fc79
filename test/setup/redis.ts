import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';

/** The machine's Redis (`.ci/run` starts it); TEST_REDIS_PORT overrides the port. */
export const REDIS = { host: '127.0.0.1', port: Number(process.env.TEST_REDIS_PORT ?? 6379) };

/**
 * Whether the Redis suites can run: unreachable Redis fails them in CI (CI=true, never a silent
 * skip) and skips them elsewhere with one line saying so.
 */
export async function redisAvailable(suite: string): Promise<boolean> {
  const r = new Redis({ ...REDIS, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined);
  const ok = await r.connect().then(
    () => r.ping().then((p) => p === 'PONG'),
    () => false,
  );
  r.disconnect();
  if (ok) return true;
  if (/^(1|true)$/i.test(process.env.CI ?? ''))
    throw new Error(`Redis unreachable on ${REDIS.host}:${REDIS.port} and CI=true: start it (see .ci/run)`);
  console.warn(`*** Redis unreachable on ${REDIS.host}:${REDIS.port}: "${suite}" SKIPPED ***`);
  return false;
}

/** A key prefix of this test only, so parallel runs never share counters. */
export const testRedisPrefix = () => `ic-test:${randomBytes(6).toString('hex')}:`;

/** A plain client of the test's own (to read and clean up the keys of its prefix). */
export function redisClient(): Redis {
  return new Redis({ ...REDIS, maxRetriesPerRequest: 1 });
}

export async function deleteKeys(r: Redis, prefix: string): Promise<void> {
  const keys = await r.keys(`${prefix}*`);
  if (keys.length) await r.del(...keys);
}
