import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Clock } from '../common/clock';
import { DomainError } from '../common/errors';
import { sameSecret } from '../common/same-secret';
import { SecretFailureLimiter } from '../common/secret-failure-limiter';
import { AppConfig } from '../config/app-config';
import { verifyInternalSignature } from '../internal/internal-signature';

/**
 * Metrics are read by the monitoring system with the internal signature or by an operator with the
 * admin key. Failures count towards the same per-IP brake as the admin endpoints (docs/limits.md).
 */
@Injectable()
export class MetricsGuard implements CanActivate {
  constructor(
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly limiter: SecretFailureLimiter,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<Request>();
    const passed = await this.limiter.admit(req, ctx.switchToHttp().getResponse<Response>(), () => this.authentic(req));
    if (!passed) throw new DomainError(401, '内部接口认证失败');
    return true;
  }

  private authentic(req: Request): boolean {
    const adminKey = this.config.admin.apiKey;
    const given = req.headers['x-admin-key'];
    if (adminKey && typeof given === 'string' && given && sameSecret(given, adminKey)) return true;
    const ts = req.headers['x-internal-timestamp'];
    const sig = req.headers['x-internal-signature'];
    return (
      !!this.config.internal.secret &&
      verifyInternalSignature(
        this.config.internal.secret,
        req.method,
        req.originalUrl,
        typeof ts === 'string' ? ts : undefined,
        typeof sig === 'string' ? sig : undefined,
        Buffer.alloc(0),
        this.clock.nowSeconds(),
      )
    );
  }
}
