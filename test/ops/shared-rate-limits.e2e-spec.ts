import { join } from 'node:path';
import type Redis from 'ioredis';
import { deleteKeys, REDIS, redisAvailable, redisClient, testRedisPrefix } from '../setup/redis';
import { TcpFaultProxy } from '../setup/tcp-fault-proxy';
import { eventually, spawnApp, SpawnedApp, tempDir } from '../setup/test-app';

/**
 * docs/limits.md "Shared rate limits": with REDIS_URL the throttler's counters live in Redis, so
 * two processes (two hosts) enforce one limit; Redis cut by the fault proxy → requests are still
 * served (each process counts in memory, one warn line, a metric) and the shared counters resume
 * by themselves. Each test writes under its own random key prefix.
 */

const ADMIN_KEY = 'admin-key-for-metrics-0123456789';
/** A cheap route behind the per-IP limit: answers 200/400 by itself, 429 when limited. */
const LIMITED = '/api/v1/auth/wechat/check-follow?client_id=desk-rate-limit-probe';

async function statuses(url: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await fetch(`${url}${LIMITED}`)).status);
  return out;
}

async function fallbacks(url: string): Promise<number> {
  const text = await (await fetch(`${url}/api/v1/internal/metrics`, { headers: { 'x-admin-key': ADMIN_KEY } })).text();
  const m = /^rate_limit_redis_fallback_total(?:\{[^}]*\})? (\d+)/m.exec(text);
  return m ? Number(m[1]) : NaN;
}

function env(redisUrl: string, prefix: string, limit: number): Record<string, string> {
  return {
    DB_TYPE: 'sqlite',
    SQLITE_PATH: join(tempDir(), 'rl.sqlite'),
    RATE_LIMIT_PER_MINUTE: String(limit),
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: prefix,
    ADMIN_API_KEY: ADMIN_KEY,
    LOG_LEVEL: 'warn',
  };
}

describe('shared rate limits on Redis', () => {
  let run = false;
  let redis: Redis;
  const prefixes: string[] = [];
  const apps: SpawnedApp[] = [];

  beforeAll(async () => {
    run = await redisAvailable('shared rate limits on Redis');
    if (run) redis = redisClient();
  });

  afterAll(async () => {
    await Promise.all(apps.map((a) => a.stop()));
    if (redis) {
      for (const p of prefixes) await deleteKeys(redis, p);
      redis.disconnect();
    }
  });

  it('two processes share one per-IP limit: 6 + 6 requests against a limit of 10 → exactly 10 served, 2 refused (429)', async () => {
    if (!run) return;
    const prefix = testRedisPrefix();
    prefixes.push(prefix);
    const url = `redis://${REDIS.host}:${REDIS.port}/0`;
    const [a, b] = await Promise.all([
      spawnApp(env(url, prefix, 10), { waitHealthy: true }),
      spawnApp(env(url, prefix, 10), { waitHealthy: true }),
    ]);
    apps.push(a, b);
    const all = [...(await statuses(a.url, 6)), ...(await statuses(b.url, 6))];
    expect(all.filter((s) => s !== 429)).toHaveLength(10);
    expect(all.slice(10)).toEqual([429, 429]);
    expect(all.filter((s) => s >= 500)).toEqual([]);
    // The counters are in Redis under this deployment's prefix.
    expect((await redis.keys(`${prefix}*`)).length).toBeGreaterThan(0);
    expect(await fallbacks(a.url)).toBe(0);
  });

  it('Redis cut by the fault proxy → every request still served quickly, one warn line, a metric; restored → shared counters resume by themselves', async () => {
    if (!run) return;
    const prefix = testRedisPrefix();
    prefixes.push(prefix);
    const proxy = new TcpFaultProxy(REDIS.host, REDIS.port);
    await proxy.start();
    try {
      const app = await spawnApp(env(`redis://127.0.0.1:${proxy.port}/0`, prefix, 1000), { waitHealthy: true });
      apps.push(app);
      expect(await statuses(app.url, 3)).not.toContain(429);
      const hits = async () => Number((await redis.mget(...(await redis.keys(`${prefix}*:hits`))))[0] ?? 0);
      expect(await hits()).toBe(3);

      proxy.cut();
      const started = Date.now();
      const during = await statuses(app.url, 30);
      const ms = Date.now() - started;
      expect(during.filter((s) => s === 429 || s >= 500)).toEqual([]);
      expect(ms).toBeLessThan(30 * 300); // never waits for Redis (command timeout 250 ms at worst)
      expect(await fallbacks(app.url)).toBeGreaterThan(0);
      expect(await hits()).toBe(3); // nothing reached Redis

      proxy.restore();
      await eventually(async () => (await fetch(`${app.url}${LIMITED}`)).status !== 429 && (await hits()) > 3, 15_000, 200);
      const warnings = app
        .output()
        .split('\n')
        .filter((l) => l.includes('Redis unavailable for rate limits'));
      expect(warnings).toHaveLength(1);
      expect(app.output()).not.toMatch(/\n\s+at /); // no stack traces
    } finally {
      await proxy.stop();
    }
  });
});
