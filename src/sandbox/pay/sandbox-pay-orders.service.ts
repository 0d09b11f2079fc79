import { Injectable, Logger } from '@nestjs/common';
import { randomBytes, randomInt } from 'node:crypto';
import { Clock } from '../../common/clock';
import { maskId } from '../../common/redact';
import { fromShanghaiWallClock, shanghaiCompact } from '../../common/time-format';
import { SandboxOrder, TradeState } from '../core/sandbox-records';
import { PREPAY_TTL_SECONDS } from '../core/sandbox.constants';
import { SandboxStore } from '../core/sandbox.store';

export type PlaceOrderInput = Omit<SandboxOrder, 'prepayId' | 'fingerprint' | 'state' | 'createdAt' | 'expiresAt'> & {
  /** ms; default: 2 hours after placement. */
  expiresAt?: number;
};

export type PlaceOrderResult =
  { ok: true; order: SandboxOrder; reused: boolean } | { ok: false; code: 'ORDERPAID' | 'ORDERCLOSED' | 'INVALID_REQUEST' };

export const TRADE_STATE_DESC: Record<TradeState, string> = {
  SUCCESS: '支付成功',
  NOTPAY: '订单未支付',
  CLOSED: '订单已关闭',
  PAYERROR: '支付失败，请重新下单支付',
};

/** `YYYYMMDDHHmmss` in Asia/Shanghai (v2 `time_end`, prepay ids). */
export function compactShanghaiTime(ms: number): string {
  return shanghaiCompact(ms);
}

/** `20251119124629` (read as +08:00) → ms, or null. */
export function parseCompactShanghaiTime(value: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(value);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  const at = fromShanghaiWallClock(y, mo, d, h, mi, s);
  // Date.UTC rolls 20240231 over to March: only a round trip proves every field was in range.
  return shanghaiCompact(at) === value ? at.getTime() : null;
}

/**
 * Prepay orders of both protocols (one out_trade_no namespace per merchant, as at WeChat Pay).
 * Placing the same out_trade_no again with the same content returns the same prepay_id; with other
 * content it is refused (INVALID_REQUEST), and a paid or closed number cannot be reused.
 */
@Injectable()
export class SandboxPayOrdersService {
  private readonly logger = new Logger('Sandbox');

  constructor(
    private readonly store: SandboxStore,
    private readonly clock: Clock,
  ) {}

  place(input: PlaceOrderInput): PlaceOrderResult {
    const now = this.clock.nowMs();
    const fingerprint = JSON.stringify([
      input.description,
      input.totalFen,
      input.currency,
      input.tradeType,
      input.openid,
      input.notifyUrl,
      input.attach,
    ]);
    const existing = this.store.orderByOutTradeNo(input.outTradeNo);
    if (existing) {
      if (existing.state === 'SUCCESS') return { ok: false, code: 'ORDERPAID' };
      if (existing.state === 'CLOSED') return { ok: false, code: 'ORDERCLOSED' };
      if (existing.fingerprint !== fingerprint) return { ok: false, code: 'INVALID_REQUEST' };
      if (now < existing.expiresAt) return { ok: true, order: existing, reused: true };
    }
    const order: SandboxOrder = {
      ...input,
      prepayId: `wx${compactShanghaiTime(now)}${randomBytes(12).toString('hex')}`,
      fingerprint,
      state: 'NOTPAY',
      createdAt: now,
      expiresAt: input.expiresAt ?? now + PREPAY_TTL_SECONDS * 1000,
    };
    this.store.addOrder(order);
    this.store.count('orders_placed');
    this.logger.debug(`prepay order ${order.outTradeNo} (${order.version}, ${order.totalFen} fen) for ${maskId(order.openid)}`);
    return { ok: true, order, reused: false };
  }

  markPaid(order: SandboxOrder): void {
    order.state = 'SUCCESS';
    order.paidAt = this.clock.nowMs();
    order.transactionId = `4200${compactShanghaiTime(order.paidAt).slice(0, 8)}${String(randomInt(0, 1e8)).padStart(8, '0')}${String(randomInt(0, 1e8)).padStart(8, '0')}`;
    this.store.indexTransaction(order);
    this.store.count('payments');
  }

  markFailed(order: SandboxOrder): void {
    order.state = 'PAYERROR';
  }

  /** `paid` and `closed` are refusals; `ok` closed it now. */
  close(order: SandboxOrder): 'ok' | 'paid' | 'closed' {
    if (order.state === 'SUCCESS') return 'paid';
    if (order.state === 'CLOSED') return 'closed';
    order.state = 'CLOSED';
    return 'ok';
  }

  isSubscribed(openid: string): boolean {
    return this.store.findUser(openid)?.subscribed ?? false;
  }
}
