import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Clock } from '../common/clock';
import { DatabaseService } from '../database/database.service';
import { sumPerDay } from '../database/per-day';
import { execute, insertIgnore, select, toDate } from '../database/sql';
import { QrcodeBinding } from './entities/qrcode-binding.entity';
import { isActiveMember, UserService } from '../user/user.service';

export interface BindingView {
  id: number;
  client_id: string;
  status: string;
  openid: string | null;
}

/** A binding row as support shows it: every status, the old service's rows marked. */
export interface BindingRecord {
  id: number;
  client_id: string;
  status: string;
  legacy_scene: boolean;
  completed_at: Date | null;
}

export type BindEvent = 'subscribe' | 'scan';
export type BindOutcome = { bound: true } | { bound: false; reason: 'expired' | 'unknown' | 'not_pending' };

/** Scenes of the temporary codes this service hands out. */
export const STRING_SCENE_PREFIX = 'bind_';

/**
 * QR binding of desktop clients (docs/callbacks.md "Binding rules"): string scenes `bind_…` from
 * `wechat_qr_scenes` while unexpired (re-binding allowed: that is how a desktop switches account);
 * decimal scenes only for the old service's rows (`legacy_scene`) with their stricter rules.
 */
@Injectable()
export class BindingService {
  constructor(
    private readonly db: DatabaseService,
    private readonly users: UserService,
    private readonly clock: Clock,
  ) {}

  /** Creates or returns the client's binding row. */
  createBinding(clientId: string): Promise<BindingView> {
    return this.db.transaction(async (em) => {
      await execute(
        em,
        `${insertIgnore(em)} wechat_qrcode_bindings (client_id, scene_id, status, legacy_scene, created_at) VALUES (?, 0, 'pending', 0, ?)`,
        [clientId, this.clock.now()],
      );
      const b = await em.findOneByOrFail(QrcodeBinding, { clientId });
      return view(b);
    });
  }

  updateBinding(scene: string, openid: string, event: BindEvent): Promise<BindOutcome> {
    return this.db.transaction((em) => this.updateBindingIn(em, scene, openid, event));
  }

  /** `updateBinding` inside the caller's transaction (a push applies all its effects in one). */
  async updateBindingIn(em: EntityManager, scene: string, openid: string, event: BindEvent): Promise<BindOutcome> {
    const now = this.clock.now();
    if (scene.startsWith(STRING_SCENE_PREFIX)) {
      const [row] = await select<{ client_id: string; expire_at: unknown }>(
        em,
        'SELECT client_id, expire_at FROM wechat_qr_scenes WHERE scene_str = ?',
        [scene],
      );
      if (!row) return { bound: false, reason: 'unknown' };
      if (toDate(row.expire_at)!.getTime() <= now.getTime()) return { bound: false, reason: 'expired' };
      await execute(
        em,
        `${insertIgnore(em)} wechat_qrcode_bindings (client_id, scene_id, status, legacy_scene, created_at) VALUES (?, 0, 'pending', 0, ?)`,
        [row.client_id, now],
      );
      await execute(em, "UPDATE wechat_qrcode_bindings SET openid = ?, status = 'completed', completed_at = ? WHERE client_id = ?", [
        openid,
        now,
        row.client_id,
      ]);
      return { bound: true };
    }
    if (/^\d{1,10}$/.test(scene)) {
      // Legacy permanent code: binding id, only rows of the old service. SCAN binds a pending row;
      // subscribe also re-confirms a row already bound to the same openid. Never re-bound to another.
      const id = Number(scene);
      const [legacy] = await select(em, 'SELECT 1 AS x FROM wechat_qrcode_bindings WHERE id = ? AND legacy_scene = 1', [id]);
      if (!legacy) return { bound: false, reason: 'unknown' };
      const condition = event === 'scan' ? "status = 'pending'" : "(status = 'pending' OR (status = 'completed' AND openid = ?))";
      const params = event === 'scan' ? [openid, now, id] : [openid, now, id, openid];
      const res = await execute(
        em,
        `UPDATE wechat_qrcode_bindings SET openid = ?, status = 'completed', completed_at = ? WHERE id = ? AND legacy_scene = 1 AND ${condition}`,
        params,
      );
      return res.affected === 1 ? { bound: true } : { bound: false, reason: 'not_pending' };
    }
    return { bound: false, reason: 'unknown' };
  }

  /** The client's binding (null when the client never asked for a code). */
  find(clientId: string): Promise<QrcodeBinding | null> {
    return this.db.run((em) => em.findOneBy(QrcodeBinding, { clientId }));
  }

  /** The desktops bound to an openid (members manage them on credits_info.html). */
  listForOpenid(openid: string): Promise<QrcodeBinding[]> {
    return this.db.run((em) =>
      em.find(QrcodeBinding, { where: { openid, status: 'completed' }, order: { completedAt: 'DESC', id: 'DESC' } }),
    );
  }

  /** Every binding row of an openid, whatever its status, newest first (the support lookup). */
  async allOfOpenid(openid: string): Promise<BindingRecord[]> {
    const rows = await this.db.run((em) =>
      select<{ id: unknown; client_id: string; status: string; legacy_scene: unknown; completed_at: unknown }>(
        em,
        'SELECT id, client_id, status, legacy_scene, completed_at FROM wechat_qrcode_bindings WHERE openid = ? ORDER BY id DESC',
        [openid],
      ),
    );
    return rows.map((b) => ({
      id: Number(b.id),
      client_id: b.client_id,
      status: b.status,
      legacy_scene: Number(b.legacy_scene) === 1,
      completed_at: toDate(b.completed_at),
    }));
  }

  /**
   * Unbinds one of the member's own desktops (openid cleared, back to pending): that desktop gets
   * 404 用户未关注公众号 and shows its QR again. Someone else's binding is not found (false).
   */
  async unbind(openid: string, bindingId: number): Promise<boolean> {
    const res = await this.db.run((em) =>
      execute(em, "UPDATE wechat_qrcode_bindings SET openid = NULL, status = 'pending' WHERE id = ? AND openid = ?", [bindingId, openid]),
    );
    return res.affected === 1;
  }

  /** Desktops bound per day over `bounds` (one Asia/Shanghai day each): the console dashboard's `desktop_bindings`. */
  completedPerDay(bounds: Array<{ start: Date; end: Date }>): Promise<number[]> {
    return this.db.run((em) =>
      sumPerDay(em, { table: 'wechat_qrcode_bindings', at: 'completed_at', value: '1', where: "status = 'completed'" }, bounds),
    );
  }

  /** client_id → its user, as the internal API reports it. */
  async resolveClient(clientId: string): Promise<{ openid: string | null; subscribed: boolean; is_member: boolean }> {
    return this.db.run(async (em) => {
      const b = await em.findOneBy(QrcodeBinding, { clientId });
      if (!b?.openid) return { openid: null, subscribed: false, is_member: false };
      const u = await this.users.findByOpenidIn(em, b.openid);
      return { openid: b.openid, subscribed: !!u?.subscribed, is_member: u ? isActiveMember(u, this.clock.now()) : false };
    });
  }
}

function view(b: QrcodeBinding): BindingView {
  return { id: b.id, client_id: b.clientId, status: b.status, openid: b.openid };
}
