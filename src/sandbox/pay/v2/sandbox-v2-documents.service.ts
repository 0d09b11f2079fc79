import { Injectable } from '@nestjs/common';
import { Clock } from '../../../common/clock';
import { AppConfig } from '../../../config/app-config';
import { randomNonce } from '../../../wechat/nonce';
import { formatBillTime } from '../../../wechat/pay/wire/trade-bill';
import { encryptV2RefundReqInfo } from '../../../wechat/pay/crypto/v2-refund-crypto';
import { buildXml } from '../../../wechat/xml';
import { SandboxFaultsService } from '../../core/sandbox-faults.service';
import type { RefundState, SandboxOrder, SandboxRefund } from '../../core/sandbox-records';
import { SandboxStore } from '../../core/sandbox.store';
import { compactShanghaiTime, SandboxPayOrdersService } from '../sandbox-pay-orders.service';
import { SandboxV2Replies, V2Out } from './sandbox-v2-replies.service';

/** v2 names of the refund states. */
export const V2_REFUND_STATUS: Record<RefundState, string> = {
  PROCESSING: 'PROCESSING',
  SUCCESS: 'SUCCESS',
  CLOSED: 'REFUNDCLOSE',
  ABNORMAL: 'CHANGE',
};

/** The v2 XML documents WeChat Pay sends on its own: payment and refund result notifications. */
@Injectable()
export class SandboxV2Documents {
  constructor(
    private readonly store: SandboxStore,
    private readonly orders: SandboxPayOrdersService,
    private readonly faults: SandboxFaultsService,
    private readonly replies: SandboxV2Replies,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /** The v2 notification for a paid (or failed) order, signed with the order's sign type. */
  notificationXml(order: SandboxOrder): string {
    const out: V2Out = {
      appid: order.appid,
      mch_id: order.mchid,
      nonce_str: randomNonce(32),
      return_code: 'SUCCESS',
      out_trade_no: order.outTradeNo,
      total_fee: order.totalFen,
      fee_type: order.currency,
      trade_type: order.tradeType,
    };
    if (order.attach) out.attach = order.attach;
    if (order.state === 'SUCCESS') {
      out.result_code = 'SUCCESS';
      Object.assign(out, this.paidFields(order));
    } else {
      out.result_code = 'FAIL';
      out.err_code = 'PAYERROR';
      out.err_code_des = '支付失败';
      out.openid = order.openid;
    }
    if (order.signType === 'HMAC-SHA256') out.sign_type = 'HMAC-SHA256';
    out.sign = this.replies.sign(out, order.signType);
    return buildXml(out);
  }

  /**
   * The v2 refund result notification: `<xml>` with return_code, appid, mch_id, nonce_str and
   * `req_info` — the `<root>` document AES-256-ECB encrypted under the lowercase hex MD5 of the API
   * key. No `sign`: the encryption is its only protection.
   */
  refundNotificationXml(refund: SandboxRefund): string {
    const order = this.store.orderByOutTradeNo(refund.outTradeNo);
    const info: V2Out = {
      transaction_id: refund.transactionId,
      out_trade_no: refund.outTradeNo,
      refund_id: refund.refundId,
      out_refund_no: refund.outRefundNo,
      total_fee: refund.totalFen,
      settlement_total_fee: refund.totalFen,
      refund_fee: refund.refundFen,
      settlement_refund_fee: refund.state === 'SUCCESS' ? refund.refundFen : 0,
      refund_status: V2_REFUND_STATUS[refund.state],
      refund_recv_accout: '支付用户零钱',
      refund_account: 'REFUND_SOURCE_UNSETTLED_FUNDS',
      refund_request_source: 'API',
    };
    if (refund.successAt !== undefined) info.success_time = formatBillTime(new Date(refund.successAt));
    const root = buildXml(info)
      .replace(/^<xml>/, '<root>')
      .replace(/<\/xml>$/, '</root>');
    // The bad_signature fault encrypts under another key: well-formed, but it never decrypts.
    const key = this.faults.badSignature ? `${this.config.pay.apiKey}x` : this.config.pay.apiKey;
    return buildXml({
      return_code: 'SUCCESS',
      appid: order?.appid ?? this.config.wechat.appId,
      mch_id: order?.mchid ?? this.config.pay.mchId,
      nonce_str: randomNonce(32),
      req_info: encryptV2RefundReqInfo(root, key),
    });
  }

  /** The payment fields of a paid order, in its notification and in `orderquery`. */
  paidFields(order: SandboxOrder): V2Out {
    return {
      openid: order.openid,
      is_subscribe: this.orders.isSubscribed(order.openid) ? 'Y' : 'N',
      bank_type: 'OTHERS',
      cash_fee: order.totalFen,
      transaction_id: order.transactionId ?? '',
      time_end: compactShanghaiTime(order.paidAt ?? this.clock.nowMs()),
    };
  }
}
