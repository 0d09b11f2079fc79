import { applyDecorators, UseGuards } from '@nestjs/common';
import { ApiTooManyRequestsResponse } from '@nestjs/swagger';
import { SkipThrottle, ThrottlerGuard } from '@nestjs/throttler';
import { DETAIL } from './errors';

/**
 * A controller whose routes are limited per client IP (`RATE_LIMIT_PER_MINUTE`, docs/limits.md):
 * the throttler's `perIp` limit counts them, `qrPerClient` (QR creation per client_id) is skipped
 * unless a route opts back in, and the OpenAPI document lists the 429 answer.
 */
export function LimitedPerIp(): ClassDecorator & MethodDecorator {
  return applyDecorators(
    UseGuards(ThrottlerGuard),
    SkipThrottle({ qrPerClient: true }),
    ApiTooManyRequestsResponse({ description: `{"detail":"${DETAIL.rateLimited}"}` }),
  );
}
