import { createHash } from 'node:crypto';
import type { DataSource } from 'typeorm';

/** Direct inserts for scenarios whose setup is another module's job (QR creation, the legacy service). */

function dbTime(ds: DataSource, d: Date): Date | string {
  return ds.options.type === 'mysql' ? d : d.toISOString().replace('T', ' ').replace('Z', '');
}

export async function insertQrScene(
  ds: DataSource,
  s: { sceneStr: string; clientId: string; expireAt: Date; ticket?: string },
): Promise<void> {
  await ds.query(
    'INSERT INTO wechat_qr_scenes (scene_str, client_id, ticket, qrcode_content, expire_at, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    [
      s.sceneStr,
      s.clientId,
      s.ticket ?? `ticket-${s.sceneStr}`,
      `http://weixin.qq.com/q/${s.sceneStr}`,
      dbTime(ds, s.expireAt),
      dbTime(ds, new Date()),
    ],
  );
}

/** A binding row as the old Python service left it (permanent integer scene = id). */
export async function insertLegacyBinding(
  ds: DataSource,
  b: { id: number; clientId: string; openid?: string | null; status?: 'pending' | 'completed' },
): Promise<void> {
  await ds.query(
    'INSERT INTO wechat_qrcode_bindings (id, client_id, scene_id, openid, status, legacy_scene, created_at) VALUES (?, ?, ?, ?, ?, 1, ?)',
    [b.id, b.clientId, b.id, b.openid ?? null, b.status ?? (b.openid ? 'completed' : 'pending'), dbTime(ds, new Date())],
  );
}

export async function rows(ds: DataSource, sql: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
  return ds.query(sql, params);
}

export async function insertOrder(
  ds: DataSource,
  o: {
    orderNo: string;
    openid: string;
    type: 'member' | 'credits';
    amountFen: number;
    credits?: number | null;
    status?: string;
    expireAt?: Date;
  },
): Promise<void> {
  const yuan = `${Math.floor(o.amountFen / 100)}.${String(o.amountFen % 100).padStart(2, '0')}`;
  await ds.query(
    `INSERT INTO payment_orders (order_no, openid, order_type, amount, amount_fen, credits_amount, status, pay_version, created_at, expire_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, 'v2', ?, ?)`,
    [
      o.orderNo,
      o.openid,
      o.type,
      yuan,
      o.amountFen,
      o.credits ?? null,
      o.status ?? 'pending',
      dbTime(ds, new Date()),
      dbTime(ds, o.expireAt ?? new Date(Date.now() + 1800_000)),
    ],
  );
}

/** A refund as RefundRequestService records it once WeChat accepted it (status `processing`). */
export async function insertRefund(
  ds: DataSource,
  r: { refundNo: string; orderNo: string; openid: string; amountFen: number; totalFen: number; status?: string; requestId?: string },
): Promise<void> {
  await ds.query(
    `INSERT INTO payment_refunds (refund_no, request_id, order_no, openid, amount_fen, total_fen, status, pay_version, note, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, 'v2', 'seeded', ?)`,
    [
      r.refundNo,
      r.requestId ?? `req-${r.refundNo}`,
      r.orderNo,
      r.openid,
      r.amountFen,
      r.totalFen,
      r.status ?? 'processing',
      dbTime(ds, new Date()),
    ],
  );
}

/** A console login code as ConsoleLoginService records it once WeChat gave the QR. */
export async function insertConsoleScene(ds: DataSource, s: { sceneStr: string; expireAt: Date; pollHash?: string }): Promise<void> {
  await ds.query("INSERT INTO console_login_scenes (scene_str, poll_hash, status, created_at, expire_at) VALUES (?, ?, 'pending', ?, ?)", [
    s.sceneStr,
    s.pollHash ?? createHash('sha256').update(s.sceneStr).digest('hex'),
    dbTime(ds, new Date()),
    dbTime(ds, s.expireAt),
  ]);
}
