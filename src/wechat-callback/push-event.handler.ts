import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { CONSOLE_LOGIN_TEXTS, CONSOLE_SCENE_PATTERN, CONSOLE_SCENE_PREFIX } from '../console/console-login-scene';
import { InternalApi } from '../internal/internal-api';
import { CallbackBudget } from './callback-budget';
import { PushMessage } from './push-message';

/** What a push leads to: a text reply (lines joined later), an empty 200, or WeChat's `success`. */
export type PushOutcome = { kind: 'text'; lines: string[] } | { kind: 'empty' } | { kind: 'success' };

const QR_SCENE_PREFIX = 'qrscene_';
/** The internal API's limit for a scene; anything longer cannot be one of ours. */
const MAX_SCENE_LENGTH = 64;

/**
 * Event → effects → reply lines (callbacks.md §2 table). Every effect goes through the InternalApi
 * within the callback's budget and is idempotent there, so a WeChat retry changes nothing twice.
 * Failures propagate: the controller turns them into 503 so that WeChat retries.
 */
@Injectable()
export class PushEventHandler {
  constructor(
    private readonly api: InternalApi,
    private readonly config: AppConfig,
  ) {}

  async handle(msg: PushMessage, budget: CallbackBudget): Promise<PushOutcome> {
    if (msg.msgType.toLowerCase() !== 'event') return { kind: 'success' };
    switch (msg.event.toLowerCase()) {
      case 'subscribe':
        return this.subscribe(msg, budget);
      case 'scan':
        return this.scan(msg, budget);
      case 'unsubscribe':
        await budget.run((opts) => this.api.createOrUpdateUser({ openid: msg.openid, source: 'unsubscribe', event_time: eventTime(msg) }, opts));
        return { kind: 'empty' };
      default:
        return { kind: 'success' };
    }
  }

  private async subscribe(msg: PushMessage, budget: CallbackBudget): Promise<PushOutcome> {
    const texts = this.config.wechat.texts;
    const user = await budget.run((opts) => this.api.createOrUpdateUser({ openid: msg.openid, source: 'subscribe', event_time: eventTime(msg) }, opts));
    const granted = user.credits_granted;
    const lines = [granted > 0 ? texts.welcome.split('{credits}').join(String(granted)) : texts.welcomeBack];
    // A subscribe through a parametric code carries `qrscene_<scene>`; a plain follow has no key.
    if (msg.eventKey.startsWith(QR_SCENE_PREFIX)) {
      lines.push(await this.bindLine(msg.eventKey.slice(QR_SCENE_PREFIX.length), msg.openid, 'subscribe', budget));
    }
    return { kind: 'text', lines };
  }

  private async scan(msg: PushMessage, budget: CallbackBudget): Promise<PushOutcome> {
    // A follower with no row yet (e.g. followed before this service) gets one, with initial credits.
    await budget.run((opts) => this.api.createOrUpdateUser({ openid: msg.openid, source: 'scan', event_time: eventTime(msg) }, opts));
    // SCAN's key is the bare scene; tolerate the subscribe-style prefix all the same.
    const scene = msg.eventKey.startsWith(QR_SCENE_PREFIX) ? msg.eventKey.slice(QR_SCENE_PREFIX.length) : msg.eventKey;
    if (!scene) return { kind: 'success' };
    return { kind: 'text', lines: [await this.bindLine(scene, msg.openid, 'scan', budget)] };
  }

  /** Binds the scene; any refusal (expired, unknown, legacy row not bindable) reads as "expired". */
  private async bindLine(scene: string, openid: string, event: 'subscribe' | 'scan', budget: CallbackBudget): Promise<string> {
    const texts = this.config.wechat.texts;
    if (!scene || scene.length > MAX_SCENE_LENGTH) return texts.bindExpired;
    // An operator-console login code (docs/operator-guide.md), never a desktop binding.
    if (scene.startsWith(CONSOLE_SCENE_PREFIX)) {
      if (!CONSOLE_SCENE_PATTERN.test(scene)) return CONSOLE_LOGIN_TEXTS.expired;
      const res = await budget.run((opts) => this.api.consoleLogin({ scene, openid }, opts));
      return CONSOLE_LOGIN_TEXTS[res.result];
    }
    const res = await budget.run((opts) => this.api.updateBinding({ scene, openid, event }, opts));
    return res.bound ? texts.bindSuccess : texts.bindExpired;
  }
}

/** WeChat's CreateTime as ISO 8601, when it sent a usable one. */
function eventTime(msg: PushMessage): string | undefined {
  if (msg.createTime === undefined || msg.createTime <= 0) return undefined;
  const d = new Date(msg.createTime * 1000);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}
