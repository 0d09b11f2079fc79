import { Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Clock } from '../common/clock';
import { DomainError } from '../common/errors';
import { maskId } from '../common/redact';
import { toIsoShanghai } from '../common/time-format';
import { AppConfig } from '../config/app-config';
import { DatabaseService } from '../database/database.service';
import { execute, select, toDate } from '../database/sql';
import { OfficialAccountClient } from '../wechat/official-account.client';
import { WechatApiError, WechatUnavailableError } from '../wechat/official-account.errors';
import { ConsoleAuditService } from './console-audit.service';
import { CONSOLE_SCENE_PREFIX, ConsoleLoginResult } from '../internal/console-login-scene';
import { sha256Hex } from './console-session';

/** A login code lives two minutes and is used once (docs/operator-guide.md "Logging in"). */
export const LOGIN_QR_SECONDS = 120;
export const CONSOLE_DISABLED_DETAIL = '运营后台未启用';
const PURGE_AFTER_MS = 24 * 3600_000;

export interface LoginQr {
  qrcode_url: string;
  expire_seconds: number;
  expire_at: string;
  /** Kept by the browser that asked (an HttpOnly cookie): only it can collect the session. */
  pollSecret: string;
}

export type LoginPoll = { status: 'waiting' | 'refused' | 'expired' } | { status: 'approved'; openid: string };

/**
 * Console login by QR code: a temporary `QR_STR_SCENE` code of the official account whose scene
 * (`console_…`, never a binding scene) is recorded in `console_login_scenes` with the hash of a
 * poll secret. The operator scans it; the push (through the InternalApi, so role `web` works too)
 * approves the row when the openid is in ADMIN_OPENIDS, else refuses it and writes the attempt to the
 * audit table. The browser holding the poll secret then collects the session, once.
 */
@Injectable()
export class ConsoleLoginService {
  private readonly logger = new Logger('ConsoleLogin');
  private nextPurgeAtMs = 0;

  constructor(
    private readonly db: DatabaseService,
    private readonly wechat: OfficialAccountClient,
    private readonly audit: ConsoleAuditService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  get enabled(): boolean {
    return this.config.console.adminOpenids.length > 0;
  }

  isOperator(openid: string): boolean {
    return this.config.console.adminOpenids.includes(openid);
  }

  async createQr(): Promise<LoginQr> {
    if (!this.enabled) throw new DomainError(403, CONSOLE_DISABLED_DETAIL);
    await this.purge();
    const scene = CONSOLE_SCENE_PREFIX + randomBytes(15).toString('base64url');
    const pollSecret = randomBytes(32).toString('base64url');
    const createdAt = this.clock.now();
    let ticket: string;
    let seconds = LOGIN_QR_SECONDS;
    try {
      const qr = await this.wechat.createQrCode('QR_STR_SCENE', scene, LOGIN_QR_SECONDS);
      ticket = qr.ticket;
      if (qr.expireSeconds && qr.expireSeconds > 0) seconds = Math.min(seconds, qr.expireSeconds);
    } catch (err) {
      if (err instanceof WechatApiError || err instanceof WechatUnavailableError) {
        this.logger.warn(`console login qr failed: ${err.message}`);
        throw new DomainError(502, '生成二维码失败');
      }
      throw err;
    }
    const expireAt = new Date(createdAt.getTime() + seconds * 1000);
    // Recorded only once WeChat gave a code: a refusal leaves no row behind.
    await this.db.run((em) =>
      execute(em, "INSERT INTO console_login_scenes (scene_str, poll_hash, status, created_at, expire_at) VALUES (?, ?, 'pending', ?, ?)", [
        scene,
        sha256Hex(pollSecret),
        createdAt,
        expireAt,
      ]),
    );
    return { qrcode_url: this.wechat.showQrCodeUrl(ticket), expire_seconds: seconds, expire_at: toIsoShanghai(expireAt)!, pollSecret };
  }

  /** The push of a scan: approve (operator) or refuse (anyone else) a pending, unexpired code, once. */
  async scanned(scene: string, openid: string, requestId: string): Promise<ConsoleLoginResult> {
    if (!scene.startsWith(CONSOLE_SCENE_PREFIX)) return 'expired';
    const allowed = this.isOperator(openid);
    const now = this.clock.now();
    const res = await this.db.run((em) =>
      execute(
        em,
        "UPDATE console_login_scenes SET status = ?, openid = ?, scanned_at = ? WHERE scene_str = ? AND status = 'pending' AND expire_at > ?",
        [allowed ? 'approved' : 'refused', openid, now, scene, now],
      ),
    );
    if (res.affected !== 1) return 'expired';
    if (!allowed) {
      this.logger.warn(`console login refused for ${maskId(openid)}: not in ADMIN_OPENIDS`);
      await this.audit.record({
        operator: openid,
        requestId,
        action: 'login_refused',
        target: null,
        after: { reason: 'not in ADMIN_OPENIDS' },
      });
      return 'refused';
    }
    return 'approved';
  }

  /** The waiting browser asks; an approved code is handed out exactly once (then `used`). */
  async poll(pollSecret: string): Promise<LoginPoll> {
    const hash = sha256Hex(pollSecret);
    const [row] = await this.db.run((em) =>
      select<{ status: string; openid: string | null; expire_at: unknown }>(
        em,
        'SELECT status, openid, expire_at FROM console_login_scenes WHERE poll_hash = ?',
        [hash],
      ),
    );
    if (!row) return { status: 'expired' };
    if (row.status === 'refused') return { status: 'refused' };
    if (row.status === 'approved' && row.openid) {
      const taken = await this.db.run((em) =>
        execute(em, "UPDATE console_login_scenes SET status = 'used' WHERE poll_hash = ? AND status = 'approved'", [hash]),
      );
      if (taken.affected !== 1) return { status: 'expired' };
      // Removed from the list since the scan: no session.
      if (!this.isOperator(row.openid)) return { status: 'refused' };
      return { status: 'approved', openid: row.openid };
    }
    if (row.status === 'pending' && toDate(row.expire_at)!.getTime() > this.clock.nowMs()) return { status: 'waiting' };
    return { status: 'expired' };
  }

  /** Rows a day past their expiry, at most once a minute per process, on the creation path. */
  private async purge(): Promise<void> {
    const nowMs = this.clock.nowMs();
    if (nowMs < this.nextPurgeAtMs) return;
    this.nextPurgeAtMs = nowMs + 60_000;
    await this.db
      .run((em) => execute(em, 'DELETE FROM console_login_scenes WHERE expire_at < ?', [new Date(nowMs - PURGE_AFTER_MS)]))
      .catch((err) => this.logger.warn(`purging console login scenes failed: ${(err as Error).message}`));
  }
}
