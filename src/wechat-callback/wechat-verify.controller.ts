import { Controller, Get, Logger, Post, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { DETAIL, DomainError, ServiceUnavailableError } from '../common/errors';
import { maskId } from '../common/redact';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { CallbackBudget } from './callback-budget';
import { CallbackRejection } from './callback-rejection';
import { PushEventHandler } from './push-event.handler';
import { toCallbackQuery } from './push-message';
import { CallbackReply, PushReplyBuilder } from './push-reply.builder';
import { PushVerifier } from './push-verifier.service';

/**
 * The server URL WeChat calls (docs/callbacks.md §1–2); the path is fixed in the WeChat console.
 * Answers are written here in WeChat's formats (text, XML) — never through the global filter —
 * and every failure is `{"detail": ...}` with its status.
 */
@ApiTags('wechat callbacks')
@Controller('api/v1/auth/wechat/verify')
export class WechatVerifyController {
  private readonly logger = new Logger('WechatPush');

  constructor(
    private readonly verifier: PushVerifier,
    private readonly handler: PushEventHandler,
    private readonly replies: PushReplyBuilder,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'WeChat server URL verification: answers echostr (decrypted in safe mode); 403 when not signed by WeChat' })
  verify(@Req() req: Request, @Res() res: Response): void {
    try {
      send(res, this.replies.echo(this.verifier.verifyEcho(toCallbackQuery(req.query))));
    } catch (err) {
      send(res, this.failure('verify', err));
    }
  }

  @Post()
  @ApiOperation({ summary: 'WeChat message/event push (plaintext, compatible or safe mode); passive XML reply; 403/400/503 otherwise' })
  async push(@Req() req: Request, @Res() res: Response): Promise<void> {
    const budget = new CallbackBudget(this.config.internal.timeoutMs);
    let openid: string | undefined;
    let event = 'unknown';
    try {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const push = await this.verifier.verifyPush(toCallbackQuery(req.query), body);
      openid = push.message.openid;
      event = metricEvent(push.message.msgType, push.message.event);
      const outcome = await this.handler.handle(push, budget);
      send(res, this.replies.build(outcome, push.message));
      this.metrics.pushes.inc({ event, result: 'ok' });
    } catch (err) {
      const reply = this.failure('push', err, openid);
      send(res, reply);
      this.metrics.pushes.inc({ event, result: reply.status === 503 ? 'unavailable' : 'rejected' });
    }
  }

  /** Rejections keep their status; internal/database failures become 503 so WeChat retries. */
  private failure(what: 'verify' | 'push', err: unknown, openid?: string): CallbackReply {
    const who = openid ? ` openid=${maskId(openid)}` : '';
    if (err instanceof CallbackRejection) {
      this.logger.warn(`${what} rejected (${err.status}): ${err.reason}${who}`);
      return json(err.status, err.detail);
    }
    if (err instanceof DomainError && err.status >= 400 && err.status < 500) {
      this.logger.warn(`${what} refused by the internal API (${err.status}: ${err.detail})${who}`);
      return json(err.status, err.detail);
    }
    if (err instanceof ServiceUnavailableError) {
      const cause = (err.cause as Error | undefined)?.message ?? err.message;
      this.logger.warn(`${what} answered 503, WeChat will retry: ${cause.split('\n')[0]}${who}`);
    } else {
      this.logger.error(`${what} failed, answered 503 so WeChat retries${who}: ${(err as Error)?.stack ?? String(err)}`);
    }
    return json(503, DETAIL.unavailable);
  }
}

/** A bounded label: known events by name, everything else by message type class. */
function metricEvent(msgType: string, event: string): string {
  if (msgType === 'event') return ['subscribe', 'unsubscribe', 'SCAN', 'CLICK', 'VIEW', 'LOCATION'].includes(event) ? event : 'other_event';
  return ['text', 'image', 'voice', 'video', 'shortvideo', 'location', 'link'].includes(msgType) ? msgType : 'other';
}

function json(status: number, detail: string): CallbackReply {
  return { status, contentType: 'application/json; charset=utf-8', body: JSON.stringify({ detail }) };
}

function send(res: Response, reply: CallbackReply): void {
  if (res.headersSent) return;
  res.status(reply.status).setHeader('Content-Type', reply.contentType);
  res.end(reply.body);
}
