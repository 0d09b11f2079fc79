import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { DomainError } from '../common/errors';
import { sameSecret } from '../common/same-secret';
import { AppConfig } from '../config/app-config';

export const ADMIN_KEY_HEADER = 'X-Admin-Key';
export const ADMIN_DISABLED_DETAIL = '管理接口未启用';
export const ADMIN_KEY_WRONG_DETAIL = '管理密钥错误';

/**
 * Admin endpoints (api.md): `X-Admin-Key` must equal ADMIN_API_KEY. With no key configured the
 * endpoints are switched off (403) whatever is sent; a missing or wrong key is 401. The comparison
 * runs over SHA-256 digests so it is constant-time whatever the lengths.
 */
@Injectable()
export class AdminKeyGuard implements CanActivate {
  constructor(private readonly config: AppConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const expected = this.config.admin.apiKey;
    if (!expected) throw new DomainError(403, ADMIN_DISABLED_DETAIL);
    const given = context.switchToHttp().getRequest<Request>().headers[ADMIN_KEY_HEADER.toLowerCase()];
    if (typeof given !== 'string' || !given || !sameSecret(given, expected)) throw new DomainError(401, ADMIN_KEY_WRONG_DETAIL);
    return true;
  }
}
