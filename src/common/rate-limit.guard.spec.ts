import type { AddressInfo } from 'node:net';
import { CanActivate, Controller, ExecutionContext, Get, INestApplication, Type, UseGuards } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SkipThrottle, Throttle, ThrottlerGuard, ThrottlerModule, ThrottlerStorageService } from '@nestjs/throttler';
import type { Request } from 'express';
import { RateLimitGuard } from './rate-limit.guard';

type Call = [key: string, ttl: number, limit: number, blockDuration: number, name: string];

/** The package's in-memory storage, recording every increment the guard asks for. */
class RecordingStorage extends ThrottlerStorageService {
  readonly calls: Call[] = [];
  override increment(key: string, ttl: number, limit: number, blockDuration: number, name: string) {
    this.calls.push([key, ttl, limit, blockDuration, name]);
    return super.increment(key, ttl, limit, blockDuration, name);
  }
}

const clientOf = (req: Request) => (typeof req.query.c === 'string' ? req.query.c : '');

/** The same routes, limits and class name, guarded by `guard`: the app's shapes (a skipped named throttler, overrides, a skipIf). */
function limitedController(guard: Type<CanActivate>) {
  @Controller()
  @UseGuards(guard)
  @SkipThrottle({ perClient: true })
  class Limited {
    @Get('plain')
    plain() {
      return { ok: 'plain' };
    }

    @Get('per-client')
    @SkipThrottle({ perClient: false })
    perClient() {
      return { ok: 'per-client' };
    }

    @Get('tight')
    @Throttle({ perIp: { limit: 1, ttl: 30_000, blockDuration: 5_000 } })
    tight() {
      return { ok: 'tight' };
    }

    @Get('unlimited')
    @SkipThrottle({ perIp: true })
    unlimited() {
      return { ok: 'unlimited' };
    }

    @Get('resolved')
    @Throttle({ perIp: { limit: (ctx: ExecutionContext) => (clientOf(ctx.switchToHttp().getRequest<Request>()) ? 4 : 2), ttl: 60_000 } })
    resolved() {
      return { ok: 'resolved' };
    }
  }
  return Limited;
}

async function start(guard: Type<CanActivate>) {
  const storage = new RecordingStorage();
  const moduleRef = await Test.createTestingModule({
    imports: [
      ThrottlerModule.forRoot({
        storage,
        throttlers: [
          { name: 'perIp', ttl: 60_000, limit: 5 },
          {
            name: 'perClient',
            ttl: 60_000,
            limit: 2,
            getTracker: (req: Record<string, unknown>) => clientOf(req as unknown as Request),
            skipIf: (ctx: ExecutionContext) => clientOf(ctx.switchToHttp().getRequest<Request>()) === '',
          },
        ],
      }),
    ],
    controllers: [limitedController(guard)],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  return { app, storage, url: `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}` };
}

/** Every request of the script, in order: status, body and the rate-limit headers. */
async function play(url: string): Promise<unknown[]> {
  const script = [
    ...['/per-client', '/per-client?c=a', '/per-client?c=a', '/per-client?c=a', '/per-client?c=b'],
    ...Array<string>(7).fill('/plain'),
    ...Array<string>(3).fill('/tight'),
    ...Array<string>(4).fill('/unlimited'),
    ...['/resolved?c=x', '/resolved?c=x', '/resolved?c=x', '/resolved'],
  ];
  const seen: unknown[] = [];
  for (const path of script) {
    const res = await fetch(url + path);
    const headers = Object.fromEntries([...res.headers].filter(([k]) => k.startsWith('x-ratelimit') || k.startsWith('retry-after')));
    seen.push({ path, status: res.status, body: await res.text(), headers });
  }
  return seen;
}

describe('RateLimitGuard', () => {
  let apps: INestApplication[] = [];
  afterEach(async () => {
    await Promise.all(apps.map((a) => a.close()));
    apps = [];
  });

  it("answers, counts and keys exactly as @nestjs/throttler's guard does", async () => {
    const theirs = await start(ThrottlerGuard);
    const ours = await start(RateLimitGuard);
    apps = [theirs.app, ours.app];

    const [expected, actual] = [await play(theirs.url), await play(ours.url)];
    expect(actual).toEqual(expected);
    expect(ours.storage.calls).toEqual(theirs.storage.calls);

    // The script reaches every case: limits hit (429 with Retry-After), per-client counted apart,
    // skipped throttlers sending no headers, a limit resolved per request.
    const statuses = (expected as { path: string; status: number }[]).map((r) => `${r.path} ${r.status}`);
    expect(statuses.slice(0, 12)).toEqual([
      ...['/per-client 200', '/per-client?c=a 200', '/per-client?c=a 200', '/per-client?c=a 429', '/per-client?c=b 200'],
      ...[...Array<string>(5).fill('/plain 200'), '/plain 429', '/plain 429'],
    ]);
    expect(statuses).toContain('/tight 429');
    expect(statuses.filter((s) => s === '/unlimited 200')).toHaveLength(4);
    // A fixed limit of 2 would refuse the third; with a client_id the limit resolves to 4.
    expect(statuses.slice(-4)).toEqual(['/resolved?c=x 200', '/resolved?c=x 200', '/resolved?c=x 200', '/resolved 429']);
    expect(expected).toContainEqual(expect.objectContaining({ path: '/tight', status: 429, headers: { 'retry-after-perip': '5' } }));
    expect(new Set(ours.storage.calls.map((c) => c[4]))).toEqual(new Set(['perIp', 'perClient']));
  });
});
