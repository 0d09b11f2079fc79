import { Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Clock } from '../../common/clock';
import { randomNonce } from '../../wechat/nonce';
import { isObject } from '../core/sandbox-json';
import { QrTicket } from '../core/sandbox-records';
import { SandboxStore } from '../core/sandbox.store';
import { wxError } from './sandbox-wx-errors';

const ACTIONS = ['QR_SCENE', 'QR_STR_SCENE', 'QR_LIMIT_SCENE', 'QR_LIMIT_STR_SCENE'] as const;
const DEFAULT_EXPIRE_SECONDS = 60;
const MAX_EXPIRE_SECONDS = 2_592_000;
const MAX_TEMP_SCENE_ID = 0xffffffff;
const MAX_LIMIT_SCENE_ID = 100_000;

/**
 * An opaque ticket like WeChat's (base64), built so it always contains `+`, `/` and `=`: a client
 * that forgets to URL-encode it in `showqrcode?ticket=` fails every time, not one time in ten.
 */
function newTicket(): string {
  return Buffer.concat([randomBytes(12), Buffer.from([0xfb, 0xff]), randomBytes(17)]).toString('base64');
}

export type TicketLookup = { ok: true; ticket: QrTicket } | { ok: false; reason: 'unknown' | 'expired' };

/** `POST /cgi-bin/qrcode/create` and the tickets behind `showqrcode`. */
@Injectable()
export class SandboxQrService {
  private readonly logger = new Logger('Sandbox');

  constructor(
    private readonly store: SandboxStore,
    private readonly clock: Clock,
  ) {}

  create(body: unknown): object {
    if (body === undefined || body === null || (isObject(body) && Object.keys(body).length === 0)) return wxError(44002);
    if (!isObject(body)) return wxError(47001);
    const actionName = body.action_name;
    if (typeof actionName !== 'string' || !(ACTIONS as readonly string[]).includes(actionName)) return wxError(40052);
    const action = actionName as QrTicket['actionName'];
    const scene = isObject(body.action_info) ? body.action_info.scene : undefined;
    if (!isObject(scene)) return wxError(40053, 'action_info.scene');
    const temporary = action === 'QR_SCENE' || action === 'QR_STR_SCENE';
    const stringScene = action === 'QR_STR_SCENE' || action === 'QR_LIMIT_STR_SCENE';

    let sceneId: number | undefined;
    let sceneStr: string | undefined;
    if (stringScene) {
      if (typeof scene.scene_str !== 'string' || scene.scene_str.length < 1 || scene.scene_str.length > 64) {
        return wxError(40053, 'scene_str must be 1-64 characters');
      }
      sceneStr = scene.scene_str;
    } else {
      const max = temporary ? MAX_TEMP_SCENE_ID : MAX_LIMIT_SCENE_ID;
      if (typeof scene.scene_id !== 'number' || !Number.isInteger(scene.scene_id) || scene.scene_id < 1 || scene.scene_id > max) {
        return wxError(40053, `scene_id must be an integer from 1 to ${max}`);
      }
      sceneId = scene.scene_id;
    }

    let expireSeconds: number | undefined;
    if (temporary) {
      const raw = body.expire_seconds ?? DEFAULT_EXPIRE_SECONDS;
      if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 60 || raw > MAX_EXPIRE_SECONDS) {
        return wxError(40053, `expire_seconds must be an integer from 60 to ${MAX_EXPIRE_SECONDS}`);
      }
      expireSeconds = raw;
    }

    const now = this.clock.nowMs();
    const ticket: QrTicket = {
      ticket: newTicket(),
      actionName: action,
      sceneId,
      sceneStr,
      expireSeconds,
      expiresAt: expireSeconds === undefined ? null : now + expireSeconds * 1000,
      url: `http://weixin.qq.com/q/${randomNonce(22)}`,
      createdAt: now,
    };
    this.store.addTicket(ticket);
    this.store.count('qrcodes_created');
    this.logger.debug(`qrcode ${action} created`);
    return expireSeconds === undefined
      ? { ticket: ticket.ticket, url: ticket.url }
      : { ticket: ticket.ticket, expire_seconds: expireSeconds, url: ticket.url };
  }

  lookup(ticket: string): TicketLookup {
    const entry = this.store.tickets.get(ticket);
    if (!entry) return { ok: false, reason: 'unknown' };
    if (entry.expiresAt !== null && this.clock.nowMs() >= entry.expiresAt) return { ok: false, reason: 'expired' };
    return { ok: true, ticket: entry };
  }

  /** What the scanning user's push carries: the string scene, or the integer scene as text. */
  static scene(ticket: QrTicket): string {
    return ticket.sceneStr ?? String(ticket.sceneId);
  }
}
