import { Injectable } from '@nestjs/common';
import { isIP } from 'node:net';
import { Clock } from '../../../common/clock';
import { randomNonce } from '../../../wechat/nonce';
import type { V2SignType } from '../../../wechat/pay/crypto/v2-sign';
import { SandboxReply } from '../../core/sandbox-reply';
import { SandboxStore } from '../../core/sandbox.store';
import { parseCompactShanghaiTime, SandboxPayOrdersService, TRADE_STATE_DESC } from '../sandbox-pay-orders.service';
import { SandboxRefundsService } from '../sandbox-refunds.service';
import { SandboxV2Documents } from './sandbox-v2-documents.service';
import { SandboxV2Replies, V2Fields, V2Out } from './sandbox-v2-replies.service';

const TRADE_TYPES = ['JSAPI', 'NATIVE', 'APP', 'MWEB'];

const BUSINESS_DESC = {
  ORDERPAID: '该订单已支付',
  ORDERCLOSED: '订单已关闭',
  INVALID_REQUEST: '201 商户订单号重复',
} as const;

/** v2 orders: `pay/unifiedorder`, `pay/orderquery`, `pay/closeorder` (requests already past SandboxPayV2Service's checks). */
@Injectable()
export class SandboxV2OrdersService {
  constructor(
    private readonly store: SandboxStore,
    private readonly orders: SandboxPayOrdersService,
    private readonly refunds: SandboxRefundsService,
    private readonly documents: SandboxV2Documents,
    private readonly replies: SandboxV2Replies,
    private readonly clock: Clock,
  ) {}

  unifiedOrder(f: V2Fields, signType: V2SignType): SandboxReply {
    for (const name of ['body', 'out_trade_no', 'total_fee', 'spbill_create_ip', 'notify_url', 'trade_type']) {
      if (!f[name]) return this.replies.fail(`缺少参数${name}`);
    }
    if (!/^[1-9][0-9]{0,9}$/.test(f.total_fee) || Number(f.total_fee) > 2 ** 31 - 1) return this.replies.fail('invalid total_fee');
    if (!/^[A-Za-z0-9_\-|*@]{1,32}$/.test(f.out_trade_no)) return this.replies.fail('out_trade_no参数长度有误');
    if (Buffer.byteLength(f.body, 'utf8') > 128) return this.replies.fail('body参数长度有误');
    if (!TRADE_TYPES.includes(f.trade_type)) return this.replies.fail('invalid trade_type');
    if (!isIP(f.spbill_create_ip)) return this.replies.fail('invalid spbill_create_ip');
    if (!/^https?:\/\/[^\s]+$/i.test(f.notify_url) || !URL.canParse(f.notify_url)) return this.replies.fail('invalid notify_url');
    if (f.fee_type && f.fee_type !== 'CNY') return this.replies.business(f, signType, 'PARAM_ERROR', 'fee_type参数错误');
    if (f.trade_type === 'JSAPI' && !f.openid) return this.replies.business(f, signType, 'PARAM_ERROR', 'JSAPI支付必须传openid');
    let expiresAt: number | undefined;
    if (f.time_expire) {
      const parsed = parseCompactShanghaiTime(f.time_expire);
      if (parsed === null) return this.replies.business(f, signType, 'PARAM_ERROR', 'time_expire时间格式错误');
      if (parsed <= this.clock.nowMs()) return this.replies.business(f, signType, 'PARAM_ERROR', 'time_expire不能早于当前时间');
      expiresAt = parsed;
    }
    const placed = this.orders.place({
      version: 'v2',
      appid: f.appid,
      mchid: f.mch_id,
      outTradeNo: f.out_trade_no,
      description: f.body,
      totalFen: Number(f.total_fee),
      currency: 'CNY',
      openid: f.openid ?? '',
      notifyUrl: f.notify_url,
      attach: f.attach ?? '',
      tradeType: f.trade_type,
      signType,
      expiresAt,
    });
    if (!placed.ok) return this.replies.business(f, signType, placed.code, BUSINESS_DESC[placed.code]);
    const out: V2Out = this.replies.base(f);
    out.result_code = 'SUCCESS';
    out.prepay_id = placed.order.prepayId;
    out.trade_type = placed.order.tradeType;
    if (placed.order.tradeType === 'NATIVE') out.code_url = `weixin://wxpay/bizpayurl?pr=${randomNonce(7)}`;
    return this.replies.signed(out, signType);
  }

  orderQuery(f: V2Fields, signType: V2SignType): SandboxReply {
    if (!f.transaction_id && !f.out_trade_no) return this.replies.fail('缺少参数out_trade_no');
    const order = f.transaction_id ? this.store.orderByTransactionId(f.transaction_id) : this.store.orderByOutTradeNo(f.out_trade_no);
    if (!order) return this.replies.business(f, signType, 'ORDERNOTEXIST', '此交易订单号不存在');
    const out: V2Out = this.replies.base(f);
    out.result_code = 'SUCCESS';
    out.out_trade_no = order.outTradeNo;
    const refunded = order.state === 'SUCCESS' && this.refunds.refunded(order) > 0;
    out.trade_state = refunded ? 'REFUND' : order.state;
    out.trade_state_desc = refunded ? '转入退款' : TRADE_STATE_DESC[order.state];
    out.total_fee = order.totalFen;
    out.fee_type = order.currency;
    out.trade_type = order.tradeType;
    if (order.attach) out.attach = order.attach;
    if (order.state === 'SUCCESS') Object.assign(out, this.documents.paidFields(order));
    return this.replies.signed(out, signType);
  }

  closeOrder(f: V2Fields, signType: V2SignType): SandboxReply {
    if (!f.out_trade_no) return this.replies.fail('缺少参数out_trade_no');
    const order = this.store.orderByOutTradeNo(f.out_trade_no);
    if (!order) return this.replies.business(f, signType, 'ORDERNOTEXIST', '订单不存在');
    const closed = this.orders.close(order);
    if (closed === 'paid') return this.replies.business(f, signType, 'ORDERPAID', '订单已支付，不能发起关单');
    if (closed === 'closed') return this.replies.business(f, signType, 'ORDERCLOSED', '订单已关闭，无法重复关闭');
    return this.replies.signed({ ...this.replies.base(f), result_code: 'SUCCESS', result_msg: 'OK' }, signType);
  }
}
