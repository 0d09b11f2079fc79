import { Injectable, Logger } from '@nestjs/common';
import { isIP } from 'node:net';
import { gzipSync } from 'node:zlib';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { randomNonce } from '../wechat/nonce';
import { formatBillTime } from '../wechat/pay/wire/trade-bill';
import { encryptV2RefundReqInfo } from '../wechat/pay/crypto/v2-refund-crypto';
import { V2Params, v2Sign, V2SignType, v2Verify } from '../wechat/pay/crypto/v2-sign';
import { buildXml, parseWechatXml } from '../wechat/xml';
import { SandboxReply } from './sandbox-reply';
import { SandboxFaultsService } from './sandbox-faults.service';
import { compactShanghaiTime, parseCompactShanghaiTime, SandboxPayOrdersService, TRADE_STATE_DESC } from './sandbox-pay-orders.service';
import { BILL_TYPES, SandboxBillsService } from './sandbox-bills.service';
import { RefundRefusal, SandboxRefundsService } from './sandbox-refunds.service';
import { RefundState, SandboxOrder, SandboxRefund, SandboxStore } from './sandbox.store';

export type V2Endpoint = 'unifiedorder' | 'orderquery' | 'closeorder' | 'refund' | 'refundquery' | 'downloadbill';

/** v2 names of the refund states. */
const V2_REFUND_STATUS: Record<RefundState, string> = {
  PROCESSING: 'PROCESSING',
  SUCCESS: 'SUCCESS',
  CLOSED: 'REFUNDCLOSE',
  ABNORMAL: 'CHANGE',
};

const V2_REFUND_REFUSAL: Record<RefundRefusal, [string, string]> = {
  ORDER_NOT_EXIST: ['ORDERNOTEXIST', '订单不存在'],
  NOT_PAID: ['TRADE_STATE_ERROR', '订单状态错误'],
  TOTAL_MISMATCH: ['PARAM_ERROR', 'total_fee与订单金额不一致'],
  EXCEEDS: ['ERROR', '累计退款金额大于支付金额'],
  REFUND_NO_REUSED: ['INVALID_REQUEST', '订单金额或退款金额与之前请求不一致，请核实后再试'],
};

type Fields = Record<string, string>;
type Out = Record<string, string | number>;

const TRADE_TYPES = ['JSAPI', 'NATIVE', 'APP', 'MWEB'];
const MAX_XML_BYTES = 1024 * 1024;

const BUSINESS_DESC = {
  ORDERPAID: '该订单已支付',
  ORDERCLOSED: '订单已关闭',
  INVALID_REQUEST: '201 商户订单号重复',
} as const;

function xmlReply(fields: Out): SandboxReply {
  return { status: 200, headers: { 'Content-Type': 'text/xml; charset=utf-8' }, body: buildXml(fields) };
}

/**
 * WeChat Pay v2 (XML): `pay/unifiedorder`, `pay/orderquery`, `pay/closeorder`, `secapi/pay/refund`,
 * `pay/refundquery`, `pay/downloadbill`, and the v2 payment and refund notification documents.
 *
 * Answers follow WeChat's two layers: a request WeChat cannot accept at all (not XML, unknown
 * merchant, missing or malformed parameter, bad `sign`) gets `return_code=FAIL` with a
 * `return_msg` and no signature; anything past the signature check gets `return_code=SUCCESS`,
 * is signed with the request's sign type (MD5 unless `sign_type=HMAC-SHA256`), and reports business
 * failures as `result_code=FAIL` + `err_code`/`err_code_des`.
 */
@Injectable()
export class SandboxPayV2Service {
  private readonly logger = new Logger('Sandbox');

  constructor(
    private readonly store: SandboxStore,
    private readonly orders: SandboxPayOrdersService,
    private readonly faults: SandboxFaultsService,
    private readonly refunds: SandboxRefundsService,
    private readonly bills: SandboxBillsService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  async handle(endpoint: V2Endpoint, body: unknown): Promise<SandboxReply> {
    this.store.count('pay_requests_v2');
    if (!Buffer.isBuffer(body) || body.length === 0) return this.fail('XML格式错误');
    let f: Fields;
    try {
      f = await parseWechatXml(body, MAX_XML_BYTES);
    } catch {
      return this.fail('XML格式错误');
    }
    for (const name of ['appid', 'mch_id', 'nonce_str', 'sign']) {
      if (!f[name]) return this.fail(`缺少参数${name}`);
    }
    if (f.mch_id !== this.config.pay.mchId) return this.fail('mch_id参数错误');
    if (!v2Verify(f, this.config.pay.apiKey)) {
      this.logger.debug(`v2 ${endpoint}: bad sign`);
      return this.fail('签名错误');
    }
    const signType: V2SignType = f.sign_type === 'HMAC-SHA256' ? 'HMAC-SHA256' : 'MD5';
    if (f.appid !== this.config.wechat.appId) return this.business(f, signType, 'APPID_MCHID_NOT_MATCH', 'appid和mch_id不匹配');
    switch (endpoint) {
      case 'unifiedorder':
        return this.unifiedOrder(f, signType);
      case 'orderquery':
        return this.orderQuery(f, signType);
      case 'closeorder':
        return this.closeOrder(f, signType);
      case 'refund':
        return this.refund(f, signType);
      case 'refundquery':
        return this.refundQuery(f, signType);
      case 'downloadbill':
        return this.downloadBill(f);
    }
  }

  /**
   * `secapi/pay/refund`. At WeChat this URL demands TLS client authentication with the merchant's
   * API client certificate (apiclient_cert.p12); the sandbox listens on plain HTTP and cannot ask
   * for one, so it accepts the request on its `sign` alone — the one check it can make.
   */
  private refund(f: Fields, signType: V2SignType): SandboxReply {
    for (const name of ['out_refund_no', 'total_fee', 'refund_fee']) {
      if (!f[name]) return this.fail(`缺少参数${name}`);
    }
    if (!f.out_trade_no && !f.transaction_id) return this.fail('缺少参数out_trade_no');
    if (!/^[1-9][0-9]{0,9}$/.test(f.total_fee)) return this.fail('invalid total_fee');
    if (!/^[1-9][0-9]{0,9}$/.test(f.refund_fee)) return this.fail('invalid refund_fee');
    if (!/^[A-Za-z0-9_\-|*@]{1,64}$/.test(f.out_refund_no)) return this.fail('out_refund_no参数长度有误');
    if (f.notify_url && (!/^https?:\/\/[^\s]+$/i.test(f.notify_url) || !URL.canParse(f.notify_url))) return this.fail('invalid notify_url');
    if (f.refund_desc && [...f.refund_desc].length > 80) return this.business(f, signType, 'PARAM_ERROR', 'refund_desc参数长度有误');
    if (Number(f.refund_fee) > Number(f.total_fee)) return this.business(f, signType, 'PARAM_ERROR', 'refund_fee不能大于total_fee');
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
    if (!placed.ok) return this.business(f, signType, ...V2_REFUND_REFUSAL[placed.code]);
    const r = placed.refund;
    return this.signed(
      {
        ...this.base(f),
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
  private refundQuery(f: Fields, signType: V2SignType): SandboxReply {
    let list: SandboxRefund[];
    if (f.out_refund_no) list = [this.store.refundByOutRefundNo(f.out_refund_no)].filter((r): r is SandboxRefund => !!r);
    else if (f.refund_id) list = this.store.allRefunds().filter((r) => r.refundId === f.refund_id);
    else if (f.out_trade_no || f.transaction_id) {
      const order = f.out_trade_no ? this.store.orderByOutTradeNo(f.out_trade_no) : this.store.orderByTransactionId(f.transaction_id);
      list = order ? this.store.refundsOfOrder(order.outTradeNo) : [];
    } else return this.fail('缺少参数out_refund_no');
    if (!list.length) return this.business(f, signType, 'REFUNDNOTEXIST', '退款订单查询失败');
    const order = this.store.orderByOutTradeNo(list[0].outTradeNo);
    const out: Out = {
      ...this.base(f),
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
    return this.signed(out, signType);
  }

  /**
   * `pay/downloadbill`: the bill text itself (gzip with `tar_type=GZIP`), unsigned, as WeChat sends
   * it; refusals are `<xml>` with return_code FAIL, return_msg and error_code ("No Bill Exist" for
   * a day without a line).
   */
  private downloadBill(f: Fields): SandboxReply {
    const billFail = (message: string, code: string) => xmlReply({ return_code: 'FAIL', return_msg: message, error_code: code });
    if (!f.bill_date) return this.fail('缺少参数bill_date');
    const m = /^(\d{4})(\d{2})(\d{2})$/.exec(f.bill_date);
    const date = m ? `${m[1]}-${m[2]}-${m[3]}` : '';
    if (!m || Number.isNaN(Date.parse(`${date}T00:00:00Z`)) || !this.bills.isServable(date)) return billFail('invalid bill_date', '20001');
    const type = f.bill_type || 'ALL';
    if (!BILL_TYPES.includes(type)) return billFail('invalid bill_type', '20001');
    if (f.tar_type && f.tar_type !== 'GZIP') return billFail('invalid tar_type', '20001');
    const text = this.bills.text(date, type);
    if (text === null) return billFail('No Bill Exist', '20002');
    this.store.count('bills_downloaded');
    if (f.tar_type === 'GZIP')
      return { status: 200, headers: { 'Content-Type': 'application/x-gzip' }, body: gzipSync(Buffer.from(text, 'utf8')) };
    return { status: 200, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: text };
  }

  private unifiedOrder(f: Fields, signType: V2SignType): SandboxReply {
    for (const name of ['body', 'out_trade_no', 'total_fee', 'spbill_create_ip', 'notify_url', 'trade_type']) {
      if (!f[name]) return this.fail(`缺少参数${name}`);
    }
    if (!/^[1-9][0-9]{0,9}$/.test(f.total_fee) || Number(f.total_fee) > 2 ** 31 - 1) return this.fail('invalid total_fee');
    if (!/^[A-Za-z0-9_\-|*@]{1,32}$/.test(f.out_trade_no)) return this.fail('out_trade_no参数长度有误');
    if (Buffer.byteLength(f.body, 'utf8') > 128) return this.fail('body参数长度有误');
    if (!TRADE_TYPES.includes(f.trade_type)) return this.fail('invalid trade_type');
    if (!isIP(f.spbill_create_ip)) return this.fail('invalid spbill_create_ip');
    if (!/^https?:\/\/[^\s]+$/i.test(f.notify_url) || !URL.canParse(f.notify_url)) return this.fail('invalid notify_url');
    if (f.fee_type && f.fee_type !== 'CNY') return this.business(f, signType, 'PARAM_ERROR', 'fee_type参数错误');
    if (f.trade_type === 'JSAPI' && !f.openid) return this.business(f, signType, 'PARAM_ERROR', 'JSAPI支付必须传openid');
    let expiresAt: number | undefined;
    if (f.time_expire) {
      const parsed = parseCompactShanghaiTime(f.time_expire);
      if (parsed === null) return this.business(f, signType, 'PARAM_ERROR', 'time_expire时间格式错误');
      if (parsed <= this.clock.nowMs()) return this.business(f, signType, 'PARAM_ERROR', 'time_expire不能早于当前时间');
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
    if (!placed.ok) return this.business(f, signType, placed.code, BUSINESS_DESC[placed.code]);
    const out: Out = this.base(f);
    out.result_code = 'SUCCESS';
    out.prepay_id = placed.order.prepayId;
    out.trade_type = placed.order.tradeType;
    if (placed.order.tradeType === 'NATIVE') out.code_url = `weixin://wxpay/bizpayurl?pr=${randomNonce(7)}`;
    return this.signed(out, signType);
  }

  private orderQuery(f: Fields, signType: V2SignType): SandboxReply {
    if (!f.transaction_id && !f.out_trade_no) return this.fail('缺少参数out_trade_no');
    const order = f.transaction_id ? this.store.orderByTransactionId(f.transaction_id) : this.store.orderByOutTradeNo(f.out_trade_no);
    if (!order) return this.business(f, signType, 'ORDERNOTEXIST', '此交易订单号不存在');
    const out: Out = this.base(f);
    out.result_code = 'SUCCESS';
    out.out_trade_no = order.outTradeNo;
    const refunded = order.state === 'SUCCESS' && this.refunds.refunded(order) > 0;
    out.trade_state = refunded ? 'REFUND' : order.state;
    out.trade_state_desc = refunded ? '转入退款' : TRADE_STATE_DESC[order.state];
    out.total_fee = order.totalFen;
    out.fee_type = order.currency;
    out.trade_type = order.tradeType;
    if (order.attach) out.attach = order.attach;
    if (order.state === 'SUCCESS') Object.assign(out, this.paidFields(order));
    return this.signed(out, signType);
  }

  private closeOrder(f: Fields, signType: V2SignType): SandboxReply {
    if (!f.out_trade_no) return this.fail('缺少参数out_trade_no');
    const order = this.store.orderByOutTradeNo(f.out_trade_no);
    if (!order) return this.business(f, signType, 'ORDERNOTEXIST', '订单不存在');
    const closed = this.orders.close(order);
    if (closed === 'paid') return this.business(f, signType, 'ORDERPAID', '订单已支付，不能发起关单');
    if (closed === 'closed') return this.business(f, signType, 'ORDERCLOSED', '订单已关闭，无法重复关闭');
    return this.signed({ ...this.base(f), result_code: 'SUCCESS', result_msg: 'OK' }, signType);
  }

  /** The v2 notification for a paid (or failed) order, signed with the order's sign type. */
  notificationXml(order: SandboxOrder): string {
    const out: Out = {
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
    out.sign = this.sign(out, order.signType);
    return buildXml(out);
  }

  /**
   * The v2 refund result notification: `<xml>` with return_code, appid, mch_id, nonce_str and
   * `req_info` — the `<root>` document AES-256-ECB encrypted under the lowercase hex MD5 of the API
   * key. No `sign`: the encryption is its only protection.
   */
  refundNotificationXml(refund: SandboxRefund): string {
    const order = this.store.orderByOutTradeNo(refund.outTradeNo);
    const info: Out = {
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

  private paidFields(order: SandboxOrder): Out {
    return {
      openid: order.openid,
      is_subscribe: this.orders.isSubscribed(order.openid) ? 'Y' : 'N',
      bank_type: 'OTHERS',
      cash_fee: order.totalFen,
      transaction_id: order.transactionId ?? '',
      time_end: compactShanghaiTime(order.paidAt ?? this.clock.nowMs()),
    };
  }

  private base(f: Fields): Out {
    const out: Out = { return_code: 'SUCCESS', return_msg: 'OK', appid: f.appid, mch_id: f.mch_id };
    if (f.device_info) out.device_info = f.device_info;
    out.nonce_str = randomNonce(32);
    return out;
  }

  private business(f: Fields, signType: V2SignType, errCode: string, errCodeDes: string): SandboxReply {
    return this.signed({ ...this.base(f), result_code: 'FAIL', err_code: errCode, err_code_des: errCodeDes }, signType);
  }

  private fail(message: string): SandboxReply {
    return xmlReply({ return_code: 'FAIL', return_msg: message });
  }

  private sign(fields: V2Params, signType: V2SignType): string {
    // The bad_signature fault signs with another key: well-formed, but it never verifies.
    const key = this.faults.badSignature ? `${this.config.pay.apiKey}x` : this.config.pay.apiKey;
    return v2Sign(fields, key, signType);
  }

  private signed(fields: Out, signType: V2SignType): SandboxReply {
    return xmlReply({ ...fields, sign: this.sign(fields, signType) });
  }
}
