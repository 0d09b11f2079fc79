import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { Clock } from '../common/clock';
import { DomainError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { CONSOLE_DISABLED_DETAIL } from './console-login.service';
import { CONSOLE_COOKIE, consoleKey, CSRF_HEADER, csrfTokenFor, readCookie, sameToken, verifyConsoleSession } from './console-session';

export const NOT_LOGGED_IN_DETAIL = '请先登录运营后台';
export const CSRF_DETAIL = 'CSRF 校验失败';

/** What a console handler knows about its caller. */
export interface ConsoleCaller {
  openid: string;
  token: string;
  expiresAt: number;
  requestId: string;
}

export type ConsoleRequest = Request & { consoleCaller?: ConsoleCaller };

/** A request id for the audit table and the response header; one per console request. */
export function consoleRequestId(req: ConsoleRequest, res: Response): string {
  const existing = res.getHeader('X-Request-Id');
  if (typeof existing === 'string') return existing;
  const id = randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

/**
 * Console routes: console off (no ADMIN_OPENIDS) → 403; no valid console cookie, or its operator no
 * longer listed → 401; a state-changing method without the session's CSRF token → 403. A member
 * Bearer token is never looked at: only the console cookie opens the console.
 */
@Injectable()
export class ConsoleAuthGuard implements CanActivate {
  private readonly key: string;

  constructor(
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {
    this.key = consoleKey(config.session.secret);
  }

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const req = http.getRequest<ConsoleRequest>();
    const res = http.getResponse<Response>();
    const requestId = consoleRequestId(req, res);
    if (!this.config.console.adminOpenids.length) throw new DomainError(403, CONSOLE_DISABLED_DETAIL);
    const token = readCookie(req, CONSOLE_COOKIE);
    const claims = token ? verifyConsoleSession(this.key, token, this.clock.nowSeconds()) : null;
    if (!token || !claims || !this.config.console.adminOpenids.includes(claims.sub)) throw new DomainError(401, NOT_LOGGED_IN_DETAIL);
    if (!['GET', 'HEAD'].includes(req.method)) {
      const given = req.headers[CSRF_HEADER.toLowerCase()];
      if (typeof given !== 'string' || !sameToken(given, csrfTokenFor(this.key, token))) throw new DomainError(403, CSRF_DETAIL);
    }
    req.consoleCaller = { openid: claims.sub, token, expiresAt: claims.exp, requestId };
    return true;
  }
}
