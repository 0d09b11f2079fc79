import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { DomainError } from './errors';
import { sameSecret } from './same-secret';
import { SecretFailureLimiter } from './secret-failure-limiter';
import { AppConfig } from '../config/app-config';

export const ADMIN_KEY_HEADER = 'X-Admin-Key';
export const ADMIN_DISABLED_DETAIL = '管理接口未启用';
export const ADMIN_KEY_WRONG_DETAIL = '管理密钥错误';

/**
 * Admin endpoints (docs/api.md): `X-Admin-Key` must equal ADMIN_API_KEY. With no key configured the
 * endpoints are switched off (403) whatever is sent; a missing or wrong key is 401, and too many of
 * those from one IP are 429 for a while (SecretFailureLimiter, docs/limits.md). The comparison runs
 * over SHA-256 digests so it is constant-time whatever the lengths. Every admin answer, refusals
 * included, is `Cache-Control: no-store`: it carries support data no cache should keep.
 */
@Injectable()
export class AdminKeyGuard implements CanActivate {
  constructor(
    private readonly config: AppConfig,
    private readonly limiter: SecretFailureLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    res.setHeader('Cache-Control', 'no-store');
    const expected = this.config.admin.apiKey;
    if (!expected) throw new DomainError(403, ADMIN_DISABLED_DETAIL);
    const given = req.headers[ADMIN_KEY_HEADER.toLowerCase()];
    const passed = await this.limiter.admit(req, res, () => typeof given === 'string' && !!given && sameSecret(given, expected));
    if (!passed) throw new DomainError(401, ADMIN_KEY_WRONG_DETAIL);
    return true;
  }
}
