import { CanActivate, ExecutionContext, Injectable, NotFoundException } from '@nestjs/common';
import type { Request } from 'express';
import { Clock } from '../common/clock';
import { DomainError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { verifyInternalSignature } from '../common/internal-signature';

/**
 * HMAC authentication of `/api/v1/internal/*` (docs/internal.md): signature over method, the request
 * target as sent, the timestamp and the raw body; ±300 s; constant-time. With no secret configured
 * the endpoints do not exist (404).
 *
 * The signature must cover exactly the bytes the handler reads. Only the JSON parser keeps those
 * bytes (`rawBody`), so a request carrying a body must be `application/json` without a
 * Content-Encoding (415 otherwise: a form body would be parsed into the DTO while the signature
 * covered nothing), and a body whose raw bytes were not kept is refused (401).
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
    let raw: Buffer = Buffer.alloc(0);
    if (hasBody(req)) {
      const encoding = (header(req, 'content-encoding') ?? 'identity').toLowerCase();
      if (!req.is('application/json') || encoding !== 'identity') throw new DomainError(415, '内部接口只接受 application/json');
      if (!Buffer.isBuffer(req.rawBody)) throw new DomainError(401, '内部接口认证失败');
      raw = req.rawBody;
    }
    const ok = verifyInternalSignature(
      this.config.internal.secret,
      req.method,
      req.originalUrl,
      header(req, 'x-internal-timestamp'),
      header(req, 'x-internal-signature'),
      raw,
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

/** What body-parser (type-is) counts as a request with a body: a length, even 0, or chunked. */
function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || req.headers['content-length'] !== undefined;
}
