import { Injectable, Logger } from '@nestjs/common';
import { randomInt } from 'node:crypto';
import { Clock } from '../../common/clock';
import type { V2SignType } from '../../wechat/pay/crypto/v2-sign';
import { RefundState, SandboxOrder, SandboxRefund } from '../core/sandbox-records';
import { SandboxTimers } from '../core/sandbox-timers.service';
import { REFUND_AUTO_COMPLETE_MS } from '../core/sandbox.constants';
import { SandboxStore } from '../core/sandbox.store';
import { compactShanghaiTime } from './sandbox-pay-orders.service';

export interface RefundRequestInput {
  version: 'v2' | 'v3';
  outTradeNo?: string;
  transactionId?: string;
  outRefundNo: string;
  totalFen: number;
  refundFen: number;
  reason: string;
  notifyUrl: string;
  signType: V2SignType;
}

/** Why WeChat refuses a refund; each protocol names these its own way. */
export type RefundRefusal = 'ORDER_NOT_EXIST' | 'NOT_PAID' | 'TOTAL_MISMATCH' | 'EXCEEDS' | 'REFUND_NO_REUSED';

export type RefundRequestResult = { ok: true; refund: SandboxRefund; reused: boolean } | { ok: false; code: RefundRefusal };

/** What still holds the order's money: a closed refund gave nothing back. */
const HOLDING: RefundState[] = ['PROCESSING', 'SUCCESS', 'ABNORMAL'];

/**
 * Refunds of the sandbox's paid orders, for both protocols (one out_refund_no namespace per
 * merchant, as at WeChat Pay). A repeat of the same out_refund_no with the same content is the same
 * refund; other content is refused, as is more than the order has left. A new refund is PROCESSING;
 * with the `refund: auto` knob (default) it succeeds shortly after and listeners (the notifier) are
 * told; with `manual` it waits for `POST /sandbox/actions/refund`.
 */
@Injectable()
export class SandboxRefundsService {
  private readonly logger = new Logger('Sandbox');
  private readonly listeners: Array<(refund: SandboxRefund) => void> = [];

  constructor(
    private readonly store: SandboxStore,
    private readonly timers: SandboxTimers,
    private readonly clock: Clock,
  ) {}

  /** Called with every refund the sandbox finishes on its own (`refund: auto`). */
  onAutoResult(listener: (refund: SandboxRefund) => void): void {
    this.listeners.push(listener);
  }

  request(input: RefundRequestInput): RefundRequestResult {
    const order = input.outTradeNo
      ? this.store.orderByOutTradeNo(input.outTradeNo)
      : input.transactionId
        ? this.store.orderByTransactionId(input.transactionId)
        : undefined;
    const existing = this.store.refundByOutRefundNo(input.outRefundNo);
    if (existing) {
      const same =
        existing.refundFen === input.refundFen &&
        existing.totalFen === input.totalFen &&
        (!order || existing.outTradeNo === order.outTradeNo);
      return same ? { ok: true, refund: existing, reused: true } : { ok: false, code: 'REFUND_NO_REUSED' };
    }
    if (!order) return { ok: false, code: 'ORDER_NOT_EXIST' };
    if (order.state !== 'SUCCESS') return { ok: false, code: 'NOT_PAID' };
    if (input.totalFen !== order.totalFen) return { ok: false, code: 'TOTAL_MISMATCH' };
    if (input.refundFen > order.totalFen - this.held(order)) return { ok: false, code: 'EXCEEDS' };
    const now = this.clock.nowMs();
    const refund: SandboxRefund = {
      version: input.version,
      outRefundNo: input.outRefundNo,
      outTradeNo: order.outTradeNo,
      refundId: `50${compactShanghaiTime(now)}${String(randomInt(0, 1e8)).padStart(8, '0')}${String(randomInt(0, 1e6)).padStart(6, '0')}`,
      transactionId: order.transactionId ?? '',
      refundFen: input.refundFen,
      totalFen: order.totalFen,
      reason: input.reason,
      notifyUrl: input.notifyUrl,
      signType: input.signType,
      state: 'PROCESSING',
      createdAt: now,
    };
    this.store.addRefund(refund);
    this.store.count('refunds');
    this.logger.debug(
      `refund ${refund.outRefundNo} of ${refund.outTradeNo}: ${refund.refundFen}/${refund.totalFen} fen (${refund.version})`,
    );
    if (this.store.faults.refund === 'auto') void this.autoComplete(refund);
    return { ok: true, refund, reused: false };
  }

  /** Moves a PROCESSING refund to its result; false when it already has one. */
  finish(refund: SandboxRefund, state: Exclude<RefundState, 'PROCESSING'>): boolean {
    if (refund.state !== 'PROCESSING') return false;
    refund.state = state;
    if (state === 'SUCCESS') refund.successAt = this.clock.nowMs();
    return true;
  }

  /** Successful refunds of an order, in fen. */
  refunded(order: SandboxOrder): number {
    return this.store
      .refundsOfOrder(order.outTradeNo)
      .filter((r) => r.state === 'SUCCESS')
      .reduce((sum, r) => sum + r.refundFen, 0);
  }

  private held(order: SandboxOrder): number {
    return this.store
      .refundsOfOrder(order.outTradeNo)
      .filter((r) => HOLDING.includes(r.state))
      .reduce((sum, r) => sum + r.refundFen, 0);
  }

  private async autoComplete(refund: SandboxRefund): Promise<void> {
    if (!(await this.timers.delay(REFUND_AUTO_COMPLETE_MS))) return;
    if (!this.finish(refund, 'SUCCESS')) return;
    for (const listener of this.listeners) listener(refund);
  }
}
