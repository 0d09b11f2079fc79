import { CanActivate, ExecutionContext, Injectable, NotFoundException } from '@nestjs/common';
import type { Request } from 'express';
import { Clock } from '../common/clock';
import { DomainError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { verifyInternalSignature } from './internal-signature';

/**
 * HMAC authentication of `/api/v1/internal/*` (internal.md): signature over method, the request
 * target as sent, the timestamp and the raw body; ±300 s; constant-time. With no secret configured
 * the endpoints do not exist (404).
 */
@Injectable()
export class InternalAuthGuard implements CanActivate {
  constructor(
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  canActivate(ctx: ExecutionContext): boolean {
    if (!this.config.internal.secret) throw new NotFoundException();
    const req = ctx.switchToHttp().getRequest<Request & { rawBody?: Buffer }>();
    const ok = verifyInternalSignature(
      this.config.internal.secret,
      req.method,
      req.originalUrl,
      header(req, 'x-internal-timestamp'),
      header(req, 'x-internal-signature'),
      req.rawBody ?? Buffer.alloc(0),
      this.clock.nowSeconds(),
    );
    if (!ok) throw new DomainError(401, '内部接口认证失败');
    return true;
  }
}

function header(req: Request, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
