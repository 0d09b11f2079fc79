import { hash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { ThrottlerGenerateKeyFunction, ThrottlerGetTrackerFunction, ThrottlerOptions } from '@nestjs/throttler';
// The package's own metadata keys (not re-exported by its index), read once per route below.
import {
  THROTTLER_BLOCK_DURATION,
  THROTTLER_KEY_GENERATOR,
  THROTTLER_LIMIT,
  THROTTLER_SKIP,
  THROTTLER_TRACKER,
  THROTTLER_TTL,
} from '@nestjs/throttler/dist/throttler.constants';
import { ClassRef, Handler, perRoute } from './per-route';

/** One named throttler as it applies to one route: everything but the request, resolved once. */
interface RoutePlan {
  throttler: ThrottlerOptions & { name: string };
  skipIf?: ThrottlerOptions['skipIf'];
  limit: number;
  ttl: number;
  blockDuration: number;
  getTracker: ThrottlerGetTrackerFunction;
  generateKey: ThrottlerGenerateKeyFunction;
}

/**
 * @nestjs/throttler's guard, with the same counters, keys, headers and 429 (docs/limits.md), doing
 * per request only what depends on the request.
 *
 * The package's guard looks up six pieces of route metadata per named throttler on every request
 * (two throttlers: a dozen reflector calls), awaits each value, and sets its three headers through
 * Express's `res.header`. Profiled on `GET /user/credits` at ≈ 70 µs per request, the largest single
 * cost of that route (docs/performance.md). Here the metadata of a route is read the first time the
 * route is called; a route whose limit or ttl is a function of the request falls back to the
 * package's own path, unchanged.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  private readonly plansOf = perRoute((handler, classRef) => this.plan(handler, classRef));

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const plans = this.plansOf(context);
    if (!plans) return super.canActivate(context);
    for (const p of plans) {
      if (p.skipIf?.(context)) continue;
      // Throws the ThrottlerException (429) when the limit is reached; otherwise sets the headers.
      await this.handleRequest({ context, ...p });
    }
    return true;
  }

  /** The key of the package's guard (`Class-handler-throttler-tracker`, sha256), hashed in one call. */
  protected override generateKey(context: ExecutionContext, suffix: string, name: string): string {
    return hash('sha256', `${context.getClass().name}-${context.getHandler().name}-${name}-${suffix}`);
  }

  /** The same header as `res.header(name, value)` would set, without Express's Content-Type handling. */
  protected override setResponseHeader(res: Record<string, any>, name: string, value: string | number): void {
    (res as ServerResponse).setHeader(name, String(value));
  }

  /** What the package's canActivate resolves per request, resolved for one route; null if it depends on the request. */
  private plan(handler: Handler, classRef: ClassRef): RoutePlan[] | null {
    const meta = <T>(key: string, name: string) => this.reflector.getAllAndOverride<T>(key + name, [handler, classRef]);
    const plans: RoutePlan[] = [];
    for (const throttler of this.throttlers as (ThrottlerOptions & { name: string })[]) {
      if (meta<boolean>(THROTTLER_SKIP, throttler.name)) continue;
      const limit = meta<ThrottlerOptions['limit']>(THROTTLER_LIMIT, throttler.name) ?? throttler.limit;
      const ttl = meta<ThrottlerOptions['ttl']>(THROTTLER_TTL, throttler.name) ?? throttler.ttl;
      const blockDuration =
        meta<ThrottlerOptions['blockDuration']>(THROTTLER_BLOCK_DURATION, throttler.name) ?? throttler.blockDuration ?? ttl;
      if (typeof limit !== 'number' || typeof ttl !== 'number' || typeof blockDuration !== 'number') return null;
      plans.push({
        throttler,
        skipIf: throttler.skipIf ?? this.commonOptions.skipIf,
        limit,
        ttl,
        blockDuration,
        getTracker:
          meta<ThrottlerGetTrackerFunction>(THROTTLER_TRACKER, throttler.name) ?? throttler.getTracker ?? this.commonOptions.getTracker,
        generateKey:
          meta<ThrottlerGenerateKeyFunction>(THROTTLER_KEY_GENERATOR, throttler.name) ??
          throttler.generateKey ??
          this.commonOptions.generateKey,
      });
    }
    return plans;
  }
}
