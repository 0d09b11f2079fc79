import { Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { Clock } from '../common/clock';
import { DomainError } from '../common/errors';
import { maskId } from '../common/redact';
import { toIsoShanghai, toLegacyDateTime } from '../common/time-format';
import { AppConfig } from '../config/app-config';
import { DatabaseService } from '../database/database.service';
import { execute, select, toDate } from '../database/sql';
import { BindingService, STRING_SCENE_PREFIX } from './binding.service';
import { CreatedQr, OfficialAccountClient } from '../wechat/official-account.client';
import { WechatApiError, WechatUnavailableError } from '../wechat/official-account.errors';

export const QR_FAILED_DETAIL = '生成二维码失败';

/** A code is handed out again while it has more than max(60 s, half its lifetime) left (docs/api.md). */
const MIN_REMAINING_MS = 60_000;
/** Scenes are kept a day past their expiry (docs/data.md), then purged a batch at a time. */
const PURGE_AFTER_MS = 24 * 3600 * 1000;
const PURGE_BATCH = 500;
const PURGE_INTERVAL_MS = 60_000;
/** Columns of wechat_qr_scenes; a longer answer from WeChat could not be stored. */
const MAX_TICKET_CHARS = 255;

export interface QrCodeView {
  success: true;
  qrcode_url: string;
  qrcode_content: string;
  ticket: string;
  client_id: string;
  scene_id: number;
  scene_str: string;
  expire_seconds: number;
  expire_at: string;
}

export interface FollowStatusView {
  success: true;
  subscribed: boolean;
  completed_at?: string | null;
  qr_expire_at: string | null;
}

interface Scene {
  sceneStr: string;
  ticket: string;
  content: string;
  createdAt: Date;
  expireAt: Date;
}

interface SceneRow {
  scene_str: string;
  ticket: string;
  qrcode_content: string;
  created_at: unknown;
  expire_at: unknown;
}

/** 20 url-safe characters from 15 CSPRNG bytes (120 bits): nobody can guess another desktop's scene. */
export function newSceneStr(): string {
  return STRING_SCENE_PREFIX + randomBytes(15).toString('base64url');
}

/** True while the scene may still be handed out: more than max(60 s, half its lifetime) left. */
export function isFresh(scene: Pick<Scene, 'createdAt' | 'expireAt'>, now: Date): boolean {
  const lifetime = scene.expireAt.getTime() - scene.createdAt.getTime();
  return scene.expireAt.getTime() - now.getTime() > Math.max(MIN_REMAINING_MS, lifetime / 2);
}

/**
 * QR binding of the desktop app: temporary `QR_STR_SCENE` codes recorded in `wechat_qr_scenes`
 * (the push path binds them, docs/callbacks.md), and the desktop's "has my user followed?" poll.
 *
 * The client's binding row is created only after WeChat handed out a ticket: a refused or failed
 * creation writes nothing. Creation is rate limited per IP and per client_id (app.module.ts,
 * docs/limits.md).
 *
 * One ticket per client at a time:
 * - in a process, concurrent requests for one client_id share one in-flight creation;
 * - across processes, a creator records its scene only in a short transaction that first locks the
 *   client's binding row (a no-op UPDATE: an InnoDB row lock on MySQL; SQLite runs every
 *   transaction alone) and re-reads the newest scene. If another process recorded a fresh one
 *   meanwhile, that one is returned and the new ticket is dropped unrecorded (never shown, never
 *   scannable into a binding). So every request that completes returns the one recorded scene; the
 *   cost of a race is an extra `qrcode/create` call, not a second ticket. WeChat is never called
 *   inside a transaction, so a slow WeChat cannot hold a database connection or a lock.
 */
@Injectable()
export class QrBindingService {
  private readonly logger = new Logger(QrBindingService.name);
  private readonly inFlight = new Map<string, Promise<QrCodeView>>();
  private nextPurgeAtMs = 0;

  constructor(
    private readonly db: DatabaseService,
    private readonly bindings: BindingService,
    private readonly wechat: OfficialAccountClient,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /** The client's current code, or a new one. Concurrent calls for one client share the work. */
  qrCodeFor(clientId: string): Promise<QrCodeView> {
    const running = this.inFlight.get(clientId);
    if (running) return running;
    const work = this.issue(clientId).finally(() => this.inFlight.delete(clientId));
    this.inFlight.set(clientId, work);
    return work;
  }

  /**
   * The same without in-process sharing: what two processes do when they race (public for the
   * cross-process test, which has only one process).
   */
  async issue(clientId: string): Promise<QrCodeView> {
    const current = await this.db.run((em) => this.freshScene(em, clientId));
    if (current) return this.view(clientId, await this.bindingId(clientId), current, false);

    await this.purgeExpired();
    // WeChat first: a refused or failed creation leaves no row behind (docs/limits.md).
    const created = await this.createAtWechat(clientId);
    const bindingId = await this.bindingId(clientId);
    const winner = await this.db.transaction(async (em) => {
      // Serialises recorders of this client across processes; released at commit.
      await execute(em, 'UPDATE wechat_qrcode_bindings SET scene_id = scene_id WHERE id = ?', [bindingId]);
      const other = await this.freshScene(em, clientId);
      if (other) return other;
      await execute(
        em,
        'INSERT INTO wechat_qr_scenes (scene_str, client_id, ticket, qrcode_content, expire_at, created_at) VALUES (?, ?, ?, ?, ?, ?)',
        [created.sceneStr, clientId, created.ticket, created.content, created.expireAt, created.createdAt],
      );
      return created;
    });
    if (winner.sceneStr !== created.sceneStr) {
      this.logger.log(`qr for ${maskId(clientId)}: another process recorded a code first; returning it`);
      return this.view(clientId, bindingId, winner, false);
    }
    return this.view(clientId, bindingId, winner, true);
  }

  /**
   * `check-follow`: bound to a user who follows the account now? Plus the newest code's expiry. The
   * desktop polls it: user's `wechat_users` is joined here, one round trip, not asked of UserService (docs/data.md).
   */
  followStatus(clientId: string): Promise<FollowStatusView> {
    return this.db.run(async (em) => {
      const [binding] = await select<{ openid: string | null; completed_at: unknown; subscribed: unknown }>(
        em,
        `SELECT b.openid AS openid, b.completed_at AS completed_at, u.subscribed AS subscribed
           FROM wechat_qrcode_bindings b LEFT JOIN wechat_users u ON u.openid = b.openid
          WHERE b.client_id = ?`,
        [clientId],
      );
      const newest = await this.newestScene(em, clientId);
      const qrExpireAt = newest ? toIsoShanghai(newest.expireAt) : null;
      if (binding?.openid && Number(binding.subscribed) === 1) {
        return { success: true, subscribed: true, completed_at: toLegacyDateTime(toDate(binding.completed_at)), qr_expire_at: qrExpireAt };
      }
      return { success: true, subscribed: false, qr_expire_at: qrExpireAt };
    });
  }

  /** The client's binding row, created once WeChat has answered (insert-if-absent: races are fine). */
  private async bindingId(clientId: string): Promise<number> {
    const existing = await this.bindings.find(clientId);
    return Number((existing ?? (await this.bindings.createBinding(clientId))).id);
  }

  private async createAtWechat(clientId: string): Promise<Scene> {
    const sceneStr = newSceneStr();
    const requested = this.config.qr.expireSeconds;
    // Counted from before the call: our expiry is never later than WeChat's.
    const createdAt = this.clock.now();
    let qr: CreatedQr;
    try {
      qr = await this.wechat.createQrCode('QR_STR_SCENE', sceneStr, requested);
    } catch (err) {
      if (err instanceof WechatApiError || err instanceof WechatUnavailableError) {
        this.logger.warn(`qr for ${maskId(clientId)} failed: ${err.message}`);
        throw new DomainError(502, QR_FAILED_DETAIL);
      }
      throw err;
    }
    if (qr.ticket.length > MAX_TICKET_CHARS || qr.url.length > MAX_TICKET_CHARS) {
      this.logger.warn(`qr for ${maskId(clientId)}: WeChat answered a ticket/url longer than ${MAX_TICKET_CHARS} characters`);
      throw new DomainError(502, QR_FAILED_DETAIL);
    }
    const seconds = qr.expireSeconds && qr.expireSeconds > 0 ? Math.min(qr.expireSeconds, requested) : requested;
    return { sceneStr, ticket: qr.ticket, content: qr.url, createdAt, expireAt: new Date(createdAt.getTime() + seconds * 1000) };
  }

  private async freshScene(em: EntityManager, clientId: string): Promise<Scene | null> {
    const newest = await this.newestScene(em, clientId);
    return newest && isFresh(newest, this.clock.now()) ? newest : null;
  }

  private async newestScene(em: EntityManager, clientId: string): Promise<Scene | null> {
    const [row] = await select<SceneRow>(
      em,
      `SELECT scene_str, ticket, qrcode_content, created_at, expire_at FROM wechat_qr_scenes
        WHERE client_id = ? ORDER BY created_at DESC, id DESC LIMIT 1`,
      [clientId],
    );
    if (!row) return null;
    return {
      sceneStr: row.scene_str,
      ticket: row.ticket,
      content: row.qrcode_content,
      createdAt: toDate(row.created_at)!,
      expireAt: toDate(row.expire_at)!,
    };
  }

  private view(clientId: string, bindingId: number, scene: Scene, justCreated: boolean): QrCodeView {
    const lifetime = Math.round((scene.expireAt.getTime() - scene.createdAt.getTime()) / 1000);
    const left = Math.max(0, Math.floor((scene.expireAt.getTime() - this.clock.nowMs()) / 1000));
    return {
      success: true,
      qrcode_url: this.wechat.showQrCodeUrl(scene.ticket),
      qrcode_content: scene.content,
      ticket: scene.ticket,
      client_id: clientId,
      scene_id: bindingId,
      scene_str: scene.sceneStr,
      expire_seconds: justCreated ? lifetime : Math.min(lifetime, left),
      expire_at: toIsoShanghai(scene.expireAt)!,
    };
  }

  /**
   * Drops scenes a day past their expiry, at most one bounded batch a minute per process, on the
   * creation path only. A failure here never fails the request: the next creation tries again.
   */
  private async purgeExpired(): Promise<void> {
    const nowMs = this.clock.nowMs();
    if (nowMs < this.nextPurgeAtMs) return;
    this.nextPurgeAtMs = nowMs + PURGE_INTERVAL_MS;
    try {
      const purged = await this.db.run(async (em) => {
        const rows = await select<{ id: number | string }>(
          em,
          `SELECT id FROM wechat_qr_scenes WHERE expire_at < ? ORDER BY expire_at LIMIT ${PURGE_BATCH}`,
          [new Date(nowMs - PURGE_AFTER_MS)],
        );
        if (!rows.length) return 0;
        const ids = rows.map((r) => Number(r.id));
        return (await execute(em, `DELETE FROM wechat_qr_scenes WHERE id IN (${ids.map(() => '?').join(', ')})`, ids)).affected;
      });
      if (purged) this.logger.log(`purged ${purged} expired QR scenes`);
    } catch (err) {
      this.logger.warn(`purging expired QR scenes failed: ${(err as Error).message}`);
    }
  }
}
