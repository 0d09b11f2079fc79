import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { ApplyPushRequest, InternalApi } from '../internal/internal-api';
import { CONSOLE_LOGIN_TEXTS, CONSOLE_SCENE_PATTERN, CONSOLE_SCENE_PREFIX } from '../internal/console-login-scene';
import { DomainError } from '../common/errors';
import { maskId } from '../common/redact';
import { CallbackRejection } from './callback-rejection';
import { CallbackBudget } from './callback-budget';
import { PushClaim, PushMessage, VerifiedPush } from './push-message';

/** What a push leads to: a text reply (lines joined later), an empty 200, or WeChat's `success`. */
export type PushOutcome = { kind: 'text'; lines: string[] } | { kind: 'empty' } | { kind: 'success' };

const QR_SCENE_PREFIX = 'qrscene_';
/** The internal API's limit for a scene; anything longer cannot be one of ours. */
const MAX_SCENE_LENGTH = 64;

/**
 * Event → effects → reply lines (docs/callbacks.md §2 table). A push's effects — its replay-guard
 * claim, the user event and the QR binding — are one InternalApi call, applied in one transaction
 * and idempotent there, so a WeChat retry changes nothing twice. Failures propagate: the
 * controller turns them into 503 so that WeChat retries.
 */
@Injectable()
export class PushEventHandler {
  constructor(
    private readonly api: InternalApi,
    private readonly config: AppConfig,
  ) {}

  async handle({ message: msg, claim }: VerifiedPush, budget: CallbackBudget): Promise<PushOutcome> {
    const texts = this.config.wechat.texts;
    const event = msg.msgType.toLowerCase() === 'event' ? msg.event.toLowerCase() : '';
    if (event === 'subscribe') {
      // A subscribe through a parametric code carries `qrscene_<scene>`; a plain follow has no key.
      const scene = msg.eventKey.startsWith(QR_SCENE_PREFIX) ? msg.eventKey.slice(QR_SCENE_PREFIX.length) : undefined;
      const login = scene !== undefined && isConsoleScene(scene);
      const res = await this.apply(claim, msg, 'subscribe', login ? undefined : scene, budget);
      const granted = res.user?.credits_granted ?? 0;
      const lines = [granted > 0 ? texts.welcome.split('{credits}').join(String(granted)) : texts.welcomeBack];
      if (login) lines.push(await this.consoleLogin(scene, msg.openid, budget));
      else if (scene !== undefined) lines.push(res.binding?.bound ? texts.bindSuccess : texts.bindExpired);
      return { kind: 'text', lines };
    }
    if (event === 'scan') {
      // A follower with no row yet (e.g. followed before this service) gets one, with initial credits.
      // SCAN's key is the bare scene; tolerate the subscribe-style prefix all the same.
      const scene = msg.eventKey.startsWith(QR_SCENE_PREFIX) ? msg.eventKey.slice(QR_SCENE_PREFIX.length) : msg.eventKey;
      const login = isConsoleScene(scene);
      const res = await this.apply(claim, msg, 'scan', login ? undefined : scene || undefined, budget);
      if (login) return { kind: 'text', lines: [await this.consoleLogin(scene, msg.openid, budget)] };
      if (!scene) return { kind: 'success' };
      return { kind: 'text', lines: [res.binding?.bound ? texts.bindSuccess : texts.bindExpired] };
    }
    if (event === 'unsubscribe') {
      await this.apply(claim, msg, 'unsubscribe', undefined, budget);
      return { kind: 'empty' };
    }
    // Messages and other events change nothing, but their pair is claimed all the same.
    await this.apply(claim, msg, undefined, undefined, budget);
    return { kind: 'success' };
  }

  /** An operator-console login code (docs/operator-guide.md), never a desktop binding. */
  private async consoleLogin(scene: string, openid: string, budget: CallbackBudget): Promise<string> {
    if (!CONSOLE_SCENE_PATTERN.test(scene)) return CONSOLE_LOGIN_TEXTS.expired;
    const res = await budget.run((opts) => this.api.consoleLogin({ scene, openid }, opts));
    return CONSOLE_LOGIN_TEXTS[res.result];
  }

  /**
   * The one internal call of a push. A scene that cannot be one of ours (empty, too long) is not
   * sent: it reads as "expired" without a lookup. A pair already claimed with another body is 403.
   */
  private async apply(
    claim: PushClaim,
    msg: PushMessage,
    source: ApplyPushRequest['source'],
    scene: string | undefined,
    budget: CallbackBudget,
  ) {
    const bindable = scene !== undefined && scene.length > 0 && scene.length <= MAX_SCENE_LENGTH ? scene : undefined;
    const req: ApplyPushRequest = {
      ...claim,
      ...(source ? { openid: msg.openid, source, event_time: eventTime(msg) } : {}),
      scene: bindable,
    };
    try {
      return await budget.run((opts) => this.api.applyPush(req, opts));
    } catch (err) {
      if (err instanceof DomainError && err.status === 409) {
        throw CallbackRejection.forbidden(`replay: timestamp/nonce already used with another body (openid ${maskId(msg.openid)})`);
      }
      throw err;
    }
  }
}

function isConsoleScene(scene: string): boolean {
  return scene.startsWith(CONSOLE_SCENE_PREFIX);
}

/** WeChat's CreateTime as ISO 8601, when it sent a usable one. */
function eventTime(msg: PushMessage): string | undefined {
  if (msg.createTime === undefined || msg.createTime <= 0) return undefined;
  const d = new Date(msg.createTime * 1000);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}
