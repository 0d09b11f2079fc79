import { Injectable } from '@nestjs/common';
import { formatBillTime } from '../../../wechat/pay/wire/trade-bill';
import type { V2SignType } from '../../../wechat/pay/crypto/v2-sign';
import type { SandboxRefund } from '../../core/sandbox-records';
import { SandboxReply } from '../../core/sandbox-reply';
import { SandboxStore } from '../../core/sandbox.store';
import { RefundRefusal, SandboxRefundsService } from '../sandbox-refunds.service';
import { V2_REFUND_STATUS } from './sandbox-v2-documents.service';
import { SandboxV2Replies, V2Fields, V2Out } from './sandbox-v2-replies.service';

const V2_REFUND_REFUSAL: Record<RefundRefusal, [string, string]> = {
  ORDER_NOT_EXIST: ['ORDERNOTEXIST', '订单不存在'],
  NOT_PAID: ['TRADE_STATE_ERROR', '订单状态错误'],
  TOTAL_MISMATCH: ['PARAM_ERROR', 'total_fee与订单金额不一致'],
  EXCEEDS: ['ERROR', '累计退款金额大于支付金额'],
  REFUND_NO_REUSED: ['INVALID_REQUEST', '订单金额或退款金额与之前请求不一致，请核实后再试'],
};

/** v2 refunds: `secapi/pay/refund` and `pay/refundquery` (requests already past SandboxPayV2Service's checks). */
@Injectable()
export class SandboxV2RefundsService {
  constructor(
    private readonly store: SandboxStore,
    private readonly refunds: SandboxRefundsService,
    private readonly replies: SandboxV2Replies,
  ) {}

  /**
   * `secapi/pay/refund`. At WeChat this URL demands TLS client authentication with the merchant's
   * API client certificate (apiclient_cert.p12); the sandbox listens on plain HTTP and cannot ask
   * for one, so it accepts the request on its `sign` alone — the one check it can make.
   */
  refund(f: V2Fields, signType: V2SignType): SandboxReply {
    for (const name of ['out_refund_no', 'total_fee', 'refund_fee']) {
      if (!f[name]) return this.replies.fail(`缺少参数${name}`);
    }
    if (!f.out_trade_no && !f.transaction_id) return this.replies.fail('缺少参数out_trade_no');
    if (!/^[1-9][0-9]{0,9}$/.test(f.total_fee)) return this.replies.fail('invalid total_fee');
    if (!/^[1-9][0-9]{0,9}$/.test(f.refund_fee)) return this.replies.fail('invalid refund_fee');
    if (!/^[A-Za-z0-9_\-|*@]{1,64}$/.test(f.out_refund_no)) return this.replies.fail('out_refund_no参数长度有误');
    if (f.notify_url && (!/^https?:\/\/[^\s]+$/i.test(f.notify_url) || !URL.canParse(f.notify_url)))
      return this.replies.fail('invalid notify_url');
    if (f.refund_desc && [...f.refund_desc].length > 80)
      return this.replies.business(f, signType, 'PARAM_ERROR', 'refund_desc参数长度有误');
    if (Number(f.refund_fee) > Number(f.total_fee)) return this.replies.business(f, signType, 'PARAM_ERROR', 'refund_fee不能大于total_fee');
    const placed = this.refunds.request({
      version: 'v2',
      outTradeNo: f.out_trade_no || undefined,
      transactionId: f.transaction_id || undefined,
      outRefundNo: f.out_refund_no,
      totalFen: Number(f.total_fee),
      refundFen: Number(f.refund_fee),
      reason: f.refund_desc ?? '',
      notifyUrl: f.notify_url ?? '',
      signType,
    });
    if (!placed.ok) return this.replies.business(f, signType, ...V2_REFUND_REFUSAL[placed.code]);
    const r = placed.refund;
    return this.replies.signed(
      {
        ...this.replies.base(f),
        result_code: 'SUCCESS',
        transaction_id: r.transactionId,
        out_trade_no: r.outTradeNo,
        out_refund_no: r.outRefundNo,
        refund_id: r.refundId,
        refund_fee: r.refundFen,
        total_fee: r.totalFen,
        cash_fee: r.totalFen,
        cash_refund_fee: r.refundFen,
        coupon_refund_fee: 0,
      },
      signType,
    );
  }

  /** `pay/refundquery` by out_refund_no or refund_id (that refund), or by order (all of its refunds). */
  refundQuery(f: V2Fields, signType: V2SignType): SandboxReply {
    let list: SandboxRefund[];
    if (f.out_refund_no) list = [this.store.refundByOutRefundNo(f.out_refund_no)].filter((r): r is SandboxRefund => !!r);
    else if (f.refund_id) list = this.store.allRefunds().filter((r) => r.refundId === f.refund_id);
    else if (f.out_trade_no || f.transaction_id) {
      const order = f.out_trade_no ? this.store.orderByOutTradeNo(f.out_trade_no) : this.store.orderByTransactionId(f.transaction_id);
      list = order ? this.store.refundsOfOrder(order.outTradeNo) : [];
    } else return this.replies.fail('缺少参数out_refund_no');
    if (!list.length) return this.replies.business(f, signType, 'REFUNDNOTEXIST', '退款订单查询失败');
    const order = this.store.orderByOutTradeNo(list[0].outTradeNo);
    const out: V2Out = {
      ...this.replies.base(f),
      result_code: 'SUCCESS',
      transaction_id: list[0].transactionId,
      out_trade_no: list[0].outTradeNo,
      total_fee: list[0].totalFen,
      cash_fee: list[0].totalFen,
      refund_count: list.length,
      refund_fee: order ? this.refunds.refunded(order) : 0,
    };
    list.forEach((r, i) => {
      out[`out_refund_no_${i}`] = r.outRefundNo;
      out[`refund_id_${i}`] = r.refundId;
      out[`refund_channel_${i}`] = 'ORIGINAL';
      out[`refund_fee_${i}`] = r.refundFen;
      out[`refund_status_${i}`] = V2_REFUND_STATUS[r.state];
      out[`refund_account_${i}`] = 'REFUND_SOURCE_UNSETTLED_FUNDS';
      out[`refund_recv_accout_${i}`] = '支付用户零钱';
      if (r.successAt !== undefined) out[`refund_success_time_${i}`] = formatBillTime(new Date(r.successAt));
    });
    return this.replies.signed(out, signType);
  }
}
