import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { DETAIL, DomainError, isDatabaseUnavailable } from './errors';

/** Finds whether a path exists under another method (405 instead of 404). Set by app.setup. */
export type RouteProbe = (method: string, path: string) => boolean;

/**
 * The one error shape: HTTP status + `{"detail": "..."}`; never a stack trace. Callback
 * controllers answer in WeChat's formats themselves and do not reach this filter.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  constructor(private readonly existsUnderOtherMethod: RouteProbe = () => false) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<Response>();
    const req = ctx.getRequest<Request>();
    const { status, detail } = this.toReply(exception, req);
    if (exception instanceof DomainError) {
      // Anticipated outcomes (upstream refused, database down): one line, no stack.
      if (status >= 500) this.logger.warn(`${req.method} ${req.path}: ${status} ${detail}`);
    } else if (status === 503) {
      this.logger.warn(`${req.method} ${req.path}: unavailable (${(exception as Error)?.message})`);
    } else if (status >= 500) {
      this.logger.error(`${req.method} ${req.path}: ${(exception as Error)?.stack ?? String(exception)}`);
    }
    if (res.headersSent) return;
    res.status(status).json({ detail });
  }

  private toReply(exception: unknown, req: Request): { status: number; detail: string } {
    if (exception instanceof DomainError) return { status: exception.status, detail: exception.detail };
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status === 404) {
        if (this.existsUnderOtherMethod(req.method, req.path)) return { status: 405, detail: DETAIL.methodNotAllowed };
        return { status, detail: DETAIL.notFound };
      }
      if (status === 413) return { status, detail: DETAIL.tooLarge };
      if (status === 429) return { status, detail: DETAIL.rateLimited };
      const body = exception.getResponse();
      const msg =
        typeof body === 'string'
          ? body
          : ((body as { detail?: unknown; message?: unknown }).detail ?? (body as { message?: unknown }).message);
      const first: unknown = Array.isArray(msg) ? msg[0] : msg;
      return { status, detail: typeof first === 'string' || typeof first === 'number' ? String(first) : exception.message };
    }
    // body-parser errors carry their own status (400 malformed JSON, 413 too large).
    const e = exception as { status?: number; type?: string };
    if (e?.type === 'entity.too.large' || e?.status === 413) return { status: 413, detail: DETAIL.tooLarge };
    if (e?.type === 'entity.parse.failed') return { status: 400, detail: 'body: invalid JSON' };
    if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) return { status: e.status, detail: 'bad request' };
    if (isDatabaseUnavailable(exception)) return { status: 503, detail: DETAIL.unavailable };
    return { status: 500, detail: DETAIL.internal };
  }
}
