import { Injectable, Logger } from '@nestjs/common';
import { isIP } from 'node:net';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { randomNonce } from '../wechat/nonce';
import { V2Params, v2Sign, V2SignType, v2Verify } from '../wechat/pay/v2-sign';
import { buildXml, parseWechatXml } from '../wechat/xml';
import { SandboxReply } from './sandbox-reply';
import { SandboxFaultsService } from './sandbox-faults.service';
import { compactShanghaiTime, parseCompactShanghaiTime, SandboxPayOrdersService, TRADE_STATE_DESC } from './sandbox-pay-orders.service';
import { SandboxOrder, SandboxStore } from './sandbox.store';

export type V2Endpoint = 'unifiedorder' | 'orderquery' | 'closeorder';

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
 * WeChat Pay v2 (XML): `pay/unifiedorder`, `pay/orderquery`, `pay/closeorder`, and the v2
 * notification document.
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
    }
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
    out.trade_state = order.state;
    out.trade_state_desc = TRADE_STATE_DESC[order.state];
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
