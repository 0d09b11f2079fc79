import { Injectable } from '@nestjs/common';
import { isObject } from '../../core/sandbox-json';
import { SandboxReply } from '../../core/sandbox-reply';
import { SandboxStore } from '../../core/sandbox.store';
import { RefundRefusal, SandboxRefundsService } from '../sandbox-refunds.service';
import { SandboxV3Documents } from './sandbox-v3-documents.service';
import { SandboxV3Replies } from './sandbox-v3-replies.service';

const V3_REFUND_REFUSAL: Record<RefundRefusal, [number, string, string]> = {
  ORDER_NOT_EXIST: [404, 'RESOURCE_NOT_EXISTS', '订单不存在'],
  NOT_PAID: [400, 'INVALID_REQUEST', '订单未支付，不能退款'],
  TOTAL_MISMATCH: [400, 'PARAM_ERROR', '订单金额与实际支付金额不符'],
  EXCEEDS: [400, 'INVALID_REQUEST', '申请退款金额超过订单可退金额'],
  REFUND_NO_REUSED: [400, 'INVALID_REQUEST', '订单金额或退款金额与之前请求不一致，请核实后再试'],
};

/** APIv3 refunds: `POST /v3/refund/domestic/refunds` and `GET /v3/refund/domestic/refunds/{out_refund_no}`. */
@Injectable()
export class SandboxV3RefundsService {
  constructor(
    private readonly store: SandboxStore,
    private readonly refunds: SandboxRefundsService,
    private readonly documents: SandboxV3Documents,
    private readonly replies: SandboxV3Replies,
  ) {}

  /** `POST /v3/refund/domestic/refunds` (out_trade_no or transaction_id). */
  refund(body: unknown): SandboxReply {
    if (!isObject(body)) return this.replies.error(400, 'PARAM_ERROR', '请求体不是合法的JSON对象');
    const amount = isObject(body.amount) ? body.amount : undefined;
    if (typeof body.out_refund_no !== 'string' || body.out_refund_no === '') return this.replies.missing('out_refund_no');
    if (
      (typeof body.out_trade_no !== 'string' || body.out_trade_no === '') &&
      (typeof body.transaction_id !== 'string' || body.transaction_id === '')
    ) {
      return this.replies.missing('out_trade_no');
    }
    if (!amount || amount.refund === undefined) return this.replies.missing('amount/refund');
    if (amount.total === undefined) return this.replies.missing('amount/total');
    if (amount.currency === undefined) return this.replies.missing('amount/currency');
    if (!/^[A-Za-z0-9_\-|*@]{1,64}$/.test(body.out_refund_no)) return this.replies.invalid('out_refund_no');
    for (const field of ['refund', 'total'] as const) {
      const v = amount[field];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 2 ** 31 - 1) return this.replies.invalid(`amount/${field}`);
    }
    if (amount.currency !== 'CNY') return this.replies.invalid('amount/currency');
    if ((amount.refund as number) > (amount.total as number)) return this.replies.error(400, 'PARAM_ERROR', '退款金额不能大于订单金额');
    if (body.reason !== undefined && (typeof body.reason !== 'string' || [...body.reason].length > 80))
      return this.replies.invalid('reason');
    if (
      body.notify_url !== undefined &&
      (typeof body.notify_url !== 'string' || !URL.canParse(body.notify_url) || !/^https?:\/\//i.test(body.notify_url))
    ) {
      return this.replies.invalid('notify_url');
    }
    const placed = this.refunds.request({
      version: 'v3',
      outTradeNo: typeof body.out_trade_no === 'string' && body.out_trade_no ? body.out_trade_no : undefined,
      transactionId: typeof body.transaction_id === 'string' && body.transaction_id ? body.transaction_id : undefined,
      outRefundNo: body.out_refund_no,
      totalFen: amount.total as number,
      refundFen: amount.refund as number,
      reason: typeof body.reason === 'string' ? body.reason : '',
      notifyUrl: typeof body.notify_url === 'string' ? body.notify_url : '',
      signType: 'MD5',
    });
    if (!placed.ok) return this.replies.error(...V3_REFUND_REFUSAL[placed.code]);
    return this.replies.signedJson(200, this.documents.refundObject(placed.refund));
  }

  /** `GET /v3/refund/domestic/refunds/{out_refund_no}`. */
  queryRefund(no: string): SandboxReply {
    const refund = this.store.refundByOutRefundNo(no);
    if (!refund) return this.replies.error(404, 'RESOURCE_NOT_EXISTS', '退款单不存在');
    return this.replies.signedJson(200, this.documents.refundObject(refund));
  }
}
