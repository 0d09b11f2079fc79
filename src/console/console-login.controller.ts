import { Controller, Get, HttpCode, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Throttle } from '@nestjs/throttler';
import type { Response } from 'express';
import { Clock } from '../common/clock';
import { DomainError } from '../common/errors';
import { toIsoShanghai } from '../common/time-format';
import { AppConfig } from '../config/app-config';
import { ConsoleAuditService } from './console-audit.service';
import { ConsoleAuthGuard, consoleRequestId, ConsoleRequest } from './console-auth.guard';
import { CONSOLE_DISABLED_DETAIL, ConsoleLoginService, LOGIN_QR_SECONDS } from './console-login.service';
import {
  CONSOLE_COOKIE,
  CONSOLE_COOKIE_PATH,
  consoleKey,
  cookieHeader,
  csrfTokenFor,
  LOGIN_COOKIE,
  LOGIN_COOKIE_PATH,
  readCookie,
  signConsoleSession,
} from './console-session';
import { LimitedPerIp } from '../common/limited-per-ip';

/**
 * Logging in and out of the console (docs/operator-guide.md "Logging in"). The login cookies are
 * SameSite=Strict and HttpOnly: another site can neither start nor collect a login for this browser.
 */
@ApiExcludeController()
@Controller('api/v1/console')
@LimitedPerIp()
export class ConsoleLoginController {
  private readonly key: string;

  constructor(
    private readonly logins: ConsoleLoginService,
    private readonly audit: ConsoleAuditService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {
    this.key = consoleKey(config.session.secret);
  }

  private get secure(): boolean {
    return this.config.env === 'production';
  }

  /** A new login code; the poll secret goes to this browser only, as a cookie. At most 10 a minute per IP. */
  @Post('login/qr')
  @HttpCode(200)
  @Throttle({ perIp: { limit: 10, ttl: 60_000 } })
  async qr(@Res({ passthrough: true }) res: Response) {
    const qr = await this.logins.createQr();
    res.setHeader(
      'Set-Cookie',
      cookieHeader(LOGIN_COOKIE, qr.pollSecret, { path: LOGIN_COOKIE_PATH, maxAgeSeconds: LOGIN_QR_SECONDS, secure: this.secure }),
    );
    return { success: true, qrcode_url: qr.qrcode_url, expire_seconds: qr.expire_seconds, expire_at: qr.expire_at };
  }

  /** waiting | refused | expired | approved (then the session cookie is set, once). */
  @Post('login/poll')
  @HttpCode(200)
  async poll(@Req() req: ConsoleRequest, @Res({ passthrough: true }) res: Response) {
    if (!this.logins.enabled) throw new DomainError(403, CONSOLE_DISABLED_DETAIL);
    const secret = readCookie(req, LOGIN_COOKIE);
    if (!secret) return { success: true, status: 'expired' };
    const r = await this.logins.poll(secret);
    if (r.status !== 'approved') {
      if (r.status !== 'waiting') res.setHeader('Set-Cookie', this.clear(LOGIN_COOKIE, LOGIN_COOKIE_PATH));
      return { success: true, status: r.status };
    }
    const ttl = this.config.console.sessionMinutes * 60;
    const token = signConsoleSession(this.key, r.openid, this.clock.nowSeconds(), ttl);
    res.setHeader('Set-Cookie', [
      cookieHeader(CONSOLE_COOKIE, token, { path: CONSOLE_COOKIE_PATH, maxAgeSeconds: ttl, secure: this.secure }),
      this.clear(LOGIN_COOKIE, LOGIN_COOKIE_PATH),
    ]);
    await this.audit.record({
      operator: r.openid,
      requestId: consoleRequestId(req, res),
      action: 'login',
      target: null,
      after: { session_minutes: this.config.console.sessionMinutes },
    });
    return { success: true, status: 'approved' };
  }

  /** Who is logged in, until when, and the CSRF token every state-changing call must send. */
  @Get('session')
  @UseGuards(ConsoleAuthGuard)
  session(@Req() req: ConsoleRequest) {
    const c = req.consoleCaller!;
    return {
      success: true,
      openid: c.openid,
      expires_at: toIsoShanghai(new Date(c.expiresAt * 1000)),
      csrf_token: csrfTokenFor(this.key, c.token),
    };
  }

  @Post('logout')
  @HttpCode(200)
  @UseGuards(ConsoleAuthGuard)
  async logout(@Req() req: ConsoleRequest, @Res({ passthrough: true }) res: Response) {
    res.setHeader('Set-Cookie', this.clear(CONSOLE_COOKIE, CONSOLE_COOKIE_PATH));
    await this.audit.record({ operator: req.consoleCaller!.openid, requestId: req.consoleCaller!.requestId, action: 'logout' });
    return { success: true };
  }

  private clear(name: string, path: string): string {
    return cookieHeader(name, '', { path, maxAgeSeconds: 0, secure: this.secure });
  }
}
