import { Injectable, Logger } from '@nestjs/common';
import { DETAIL, DomainError, ServiceUnavailableError } from '../common/errors';
import { maskId } from '../common/redact';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { CallbackBudget } from './callback-budget';
import { CallbackReply, CallbackRequest, detailReply } from './callback-http';
import { CallbackRejection } from './callback-rejection';
import { PushEventHandler } from './push-event.handler';
import { toCallbackQuery } from './push-message';
import { PushReplyBuilder } from './push-reply.builder';
import { PushVerifier } from './push-verifier.service';

/**
 * The server URL WeChat calls (docs/callbacks.md §1–2), `GET` and `POST /api/v1/auth/wechat/verify`
 * (callback-routes.ts); the path is fixed in the WeChat console. Answers are in WeChat's formats
 * (text, XML), and every failure is `{"detail": ...}` with its status.
 */
@Injectable()
export class ServerUrlEndpoint {
  private readonly logger = new Logger('WechatPush');

  constructor(
    private readonly verifier: PushVerifier,
    private readonly handler: PushEventHandler,
    private readonly replies: PushReplyBuilder,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {}

  /** GET: server URL verification; echostr back (decrypted in safe mode), 403 when not signed by WeChat. */
  verify(req: CallbackRequest): CallbackReply {
    try {
      return this.replies.echo(this.verifier.verifyEcho(toCallbackQuery(req.query)));
    } catch (err) {
      return this.failure('verify', err);
    }
  }

  /** POST: a message or event push (plaintext, compatible or safe mode); the passive reply, or 403/400/503. */
  async push(req: CallbackRequest): Promise<CallbackReply> {
    const budget = new CallbackBudget(this.config.internal.timeoutMs);
    let openid: string | undefined;
    let event = 'unknown';
    try {
      const push = await this.verifier.verifyPush(toCallbackQuery(req.query), req.body);
      openid = push.message.openid;
      event = metricEvent(push.message.msgType, push.message.event);
      const outcome = await this.handler.handle(push, budget);
      const reply = this.replies.build(outcome, push.message);
      this.metrics.pushes.inc({ event, result: 'ok' });
      return reply;
    } catch (err) {
      const reply = this.failure('push', err, openid);
      this.metrics.pushes.inc({ event, result: reply.status === 503 ? 'unavailable' : 'rejected' });
      return reply;
    }
  }

  /** Rejections keep their status; internal/database failures become 503 so WeChat retries. */
  private failure(what: 'verify' | 'push', err: unknown, openid?: string): CallbackReply {
    const who = openid ? ` openid=${maskId(openid)}` : '';
    if (err instanceof CallbackRejection) {
      this.logger.warn(`${what} rejected (${err.status}): ${err.reason}${who}`);
      return detailReply(err.status, err.detail);
    }
    if (err instanceof DomainError && err.status >= 400 && err.status < 500) {
      this.logger.warn(`${what} refused by the internal API (${err.status}: ${err.detail})${who}`);
      return detailReply(err.status, err.detail);
    }
    if (err instanceof ServiceUnavailableError) {
      const cause = (err.cause as Error | undefined)?.message ?? err.message;
      this.logger.warn(`${what} answered 503, WeChat will retry: ${cause.split('\n')[0]}${who}`);
    } else {
      this.logger.error(`${what} failed, answered 503 so WeChat retries${who}: ${(err as Error)?.stack ?? String(err)}`);
    }
    return detailReply(503, DETAIL.unavailable);
  }
}

/** A bounded label: known events by name, everything else by message type class. */
function metricEvent(msgType: string, event: string): string {
  if (msgType === 'event') return ['subscribe', 'unsubscribe', 'SCAN', 'CLICK', 'VIEW', 'LOCATION'].includes(event) ? event : 'other_event';
  return ['text', 'image', 'voice', 'video', 'shortvideo', 'location', 'link'].includes(msgType) ? msgType : 'other';
}
