import { Global, Inject, Injectable, Logger, Module } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { AppConfig } from '../config/app-config';
import { DETAIL, DomainError } from './errors';

/** The throttler name under which these counters live in the (possibly shared) throttler storage. */
export const SECRET_FAILURE_THROTTLER = 'secretFailures';

/**
 * Brute-force brake of the secret-checked routes (admin key, metrics): wrong secrets are counted per
 * client IP, and after ADMIN_AUTH_MAX_FAILURES of them within ADMIN_AUTH_WINDOW_SECONDS the IP gets
 * 429 for one window, whatever it sends (the right key included, so a guess that lands during the
 * block teaches nothing). Correct secrets are never counted. The counters go through
 * @nestjs/throttler's ThrottlerStorage, so they are shared wherever that storage is shared.
 *
 * ThrottlerStorage only offers `increment`; two keys make "failures only" possible with it:
 * - `failures:<ip>` is incremented on each wrong secret (limit = the allowed failures);
 * - `block:<ip>` is read on every request with an unreachable limit (a read that cannot block), and
 *   set with limit 0 (its next hit exceeds it) when the failures pass their limit: blocked for the window.
 */
@Injectable()
export class SecretFailureLimiter {
  private readonly logger = new Logger(SecretFailureLimiter.name);

  constructor(
    @Inject(ThrottlerStorage) private readonly storage: ThrottlerStorage,
    private readonly config: AppConfig,
  ) {}

  /**
   * Resolves true when `passed` and the IP is not blocked, false for a counted failure (the caller
   * answers its own 401); throws 429 (with Retry-After) while the IP is blocked.
   */
  async admit(req: Request, res: Response | undefined, passed: () => boolean): Promise<boolean> {
    const { maxFailures, windowSeconds } = this.config.admin.authFailures;
    const windowMs = windowSeconds * 1000;
    const ip = req.ip ?? req.socket?.remoteAddress ?? 'unknown';
    const block = await this.storage.increment(`block:${ip}`, windowMs, Number.MAX_SAFE_INTEGER, windowMs, SECRET_FAILURE_THROTTLER);
    if (block.isBlocked) throw this.tooMany(res, block.timeToBlockExpire);
    if (passed()) return true;
    const failures = await this.storage.increment(`failures:${ip}`, windowMs, maxFailures, windowMs, SECRET_FAILURE_THROTTLER);
    if (failures.totalHits <= maxFailures && !failures.isBlocked) return false;
    const blocked = await this.storage.increment(`block:${ip}`, windowMs, 0, windowMs, SECRET_FAILURE_THROTTLER);
    this.logger.warn(`more than ${maxFailures} wrong admin/metrics secrets from ${ip}: refused for ${windowSeconds}s`);
    throw this.tooMany(res, blocked.timeToBlockExpire || windowSeconds);
  }

  private tooMany(res: Response | undefined, seconds: number): DomainError {
    res?.setHeader('Retry-After', String(Math.max(1, Math.ceil(seconds))));
    return new DomainError(429, DETAIL.rateLimited);
  }
}

/** Global, in every role (the metrics route exists in role web too); needs ThrottlerModule's storage. */
@Global()
@Module({ providers: [SecretFailureLimiter], exports: [SecretFailureLimiter] })
export class SecretFailureModule {}
