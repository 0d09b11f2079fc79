import { Injectable } from '@nestjs/common';
import { Clock } from '../../common/clock';
import { shanghaiDate } from '../../common/time-format';
import { formatTradeBill, TradeBillLine } from '../../wechat/pay/wire/trade-bill';
import { SandboxStore } from '../core/sandbox.store';

export type BillType = 'ALL' | 'SUCCESS' | 'REFUND';
export const BILL_TYPES: readonly string[] = ['ALL', 'SUCCESS', 'REFUND', 'RECHARGE_REFUND'];

/** `YYYY-MM-DD` (Asia/Shanghai) of an instant. */
export function shanghaiDateOf(ms: number): string {
  return shanghaiDate(new Date(ms));
}

/**
 * Trade bills (交易账单) of the sandbox's own orders, as WeChat Pay writes them (`trade-bill.ts`):
 * one SUCCESS line per payment on the day it was paid, one REFUND line per refund on the day it
 * succeeded, both protocols together (one merchant). Unlike WeChat, today's bill is served too —
 * so a test or a newcomer can reconcile at once instead of waiting for 10:00 tomorrow.
 */
@Injectable()
export class SandboxBillsService {
  constructor(
    private readonly store: SandboxStore,
    private readonly clock: Clock,
  ) {}

  /** False for a date after today (Asia/Shanghai): no bill can exist yet. */
  isServable(date: string): boolean {
    return date <= shanghaiDateOf(this.clock.nowMs());
  }

  /** The bill text, or null when the day has no line of that type ("No Bill Exist"). */
  text(date: string, type: string): string | null {
    const lines = this.lines(date).filter((l) => type === 'ALL' || l.tradeState === type);
    return lines.length ? formatTradeBill(lines) : null;
  }

  private lines(date: string): TradeBillLine[] {
    const out: Array<TradeBillLine & { at: number }> = [];
    for (const o of this.store.allOrders()) {
      if (o.state !== 'SUCCESS' || o.paidAt === undefined || shanghaiDateOf(o.paidAt) !== date) continue;
      out.push({
        at: o.paidAt,
        tradeTime: new Date(o.paidAt),
        appId: o.appid,
        mchId: o.mchid,
        transactionId: o.transactionId ?? '',
        orderNo: o.outTradeNo,
        openid: o.openid,
        tradeType: o.tradeType,
        tradeState: 'SUCCESS',
        totalFen: o.totalFen,
        product: o.description,
        attach: o.attach,
      });
    }
    for (const r of this.store.allRefunds()) {
      if (r.state !== 'SUCCESS' || r.successAt === undefined || shanghaiDateOf(r.successAt) !== date) continue;
      const o = this.store.orderByOutTradeNo(r.outTradeNo);
      out.push({
        at: r.successAt,
        tradeTime: new Date(r.successAt),
        appId: o?.appid ?? '',
        mchId: o?.mchid ?? '',
        transactionId: r.transactionId,
        orderNo: r.outTradeNo,
        openid: o?.openid ?? '',
        tradeType: o?.tradeType ?? 'JSAPI',
        tradeState: 'REFUND',
        totalFen: r.totalFen,
        wxRefundId: r.refundId,
        refundNo: r.outRefundNo,
        refundFen: r.refundFen,
        refundStatus: 'SUCCESS',
        product: o?.description ?? '',
        attach: o?.attach,
      });
    }
    return out.sort((a, b) => a.at - b.at).map(({ at: _at, ...line }) => line);
  }
}
