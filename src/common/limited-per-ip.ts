import { applyDecorators, UseGuards } from '@nestjs/common';
import { ApiTooManyRequestsResponse } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { DETAIL } from './errors';
import { RateLimitGuard } from './rate-limit.guard';

/**
 * A controller whose routes are limited per client IP (`RATE_LIMIT_PER_MINUTE`, docs/limits.md):
 * the throttler's `perIp` limit counts them (through RateLimitGuard, rate-limit.guard.ts),
 * `qrPerClient` (QR creation per client_id) is skipped unless a route opts back in, and the OpenAPI
 * document lists the 429 answer.
 */
export function LimitedPerIp(): ClassDecorator & MethodDecorator {
  return applyDecorators(
    UseGuards(RateLimitGuard),
    SkipThrottle({ qrPerClient: true }),
    ApiTooManyRequestsResponse({ description: `{"detail":"${DETAIL.rateLimited}"}` }),
  );
}
