import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../../config/app-config';
import { parseV3Time } from '../../../wechat/pay/wire/times';
import { isObject } from '../../core/sandbox-json';
import { SandboxReply } from '../../core/sandbox-reply';
import { SandboxStore } from '../../core/sandbox.store';
import { SandboxPayOrdersService } from '../sandbox-pay-orders.service';
import { SandboxRefundsService } from '../sandbox-refunds.service';
import { SandboxV3Documents } from './sandbox-v3-documents.service';
import { SandboxV3Replies } from './sandbox-v3-replies.service';

/** WeChat Pay's own pattern for notify_url (quoted in its PARAM_ERROR message): no query, no fragment. */
const NOTIFY_URL_RULE = String.raw`^https?://([^\s/?#\[\]\@]+\@)?([^\s/?#\@:]+)(?::\d{2,5})?([^\s?#\[\]]*)$`;
const NOTIFY_URL = new RegExp(NOTIFY_URL_RULE);
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * APIv3 JSAPI transactions (JSON): place (`POST /v3/pay/transactions/jsapi`), query by out_trade_no
 * or transaction_id, close. Requests reach here only after SandboxV3AuthService verified their
 * Authorization; every answer is signed (SandboxV3Replies).
 */
@Injectable()
export class SandboxV3TransactionsService {
  constructor(
    private readonly store: SandboxStore,
    private readonly orders: SandboxPayOrdersService,
    private readonly refunds: SandboxRefundsService,
    private readonly documents: SandboxV3Documents,
    private readonly replies: SandboxV3Replies,
    private readonly config: AppConfig,
  ) {}

  /** `POST /v3/pay/transactions/jsapi`. */
  jsapi(body: unknown): SandboxReply {
    if (!isObject(body)) return this.replies.error(400, 'PARAM_ERROR', '请求体不是合法的JSON对象');
    const amount = isObject(body.amount) ? body.amount : undefined;
    const payer = isObject(body.payer) ? body.payer : undefined;
    const required: Array<[string, unknown]> = [
      ['appid', body.appid],
      ['mchid', body.mchid],
      ['description', body.description],
      ['out_trade_no', body.out_trade_no],
      ['notify_url', body.notify_url],
    ];
    for (const [name, value] of required) {
      if (typeof value !== 'string' || value === '') return this.replies.missing(name);
    }
    if (!amount || amount.total === undefined) return this.replies.missing('amount/total');
    if (!payer || payer.openid === undefined) return this.replies.missing('payer/openid');
    const b = body as Record<string, string>;
    if (typeof amount.total !== 'number' || !Number.isInteger(amount.total) || amount.total < 1 || amount.total > 2 ** 31 - 1) {
      return this.replies.invalid('amount/total');
    }
    if (amount.currency !== undefined && amount.currency !== 'CNY') return this.replies.invalid('amount/currency');
    if (typeof payer.openid !== 'string' || payer.openid === '') return this.replies.invalid('payer/openid');
    const refused = this.checkStrings(b);
    if (refused) return refused;
    if (body.attach !== undefined && (typeof body.attach !== 'string' || body.attach.length > 128)) return this.replies.invalid('attach');
    let expiresAt: number | undefined;
    if (body.time_expire !== undefined) {
      const parsed = typeof body.time_expire === 'string' ? parseV3Time(body.time_expire) : null;
      if (!parsed) return this.replies.stringRule('time_expire', '交易结束时间', body.time_expire, '字符串必须是符合 RFC3339 日期时间格式');
      expiresAt = parsed.getTime();
    }
    if (b.mchid !== this.config.pay.mchId) return this.replies.error(400, 'MCH_NOT_EXISTS', '商户号不存在');
    if (b.appid !== this.config.wechat.appId) return this.replies.error(400, 'APPID_MCHID_NOT_MATCH', 'AppID和mch_id不匹配');
    const placed = this.orders.place({
      version: 'v3',
      appid: b.appid,
      mchid: b.mchid,
      outTradeNo: b.out_trade_no,
      description: b.description,
      totalFen: amount.total,
      currency: 'CNY',
      openid: payer.openid,
      notifyUrl: b.notify_url,
      attach: typeof body.attach === 'string' ? body.attach : '',
      tradeType: 'JSAPI',
      signType: 'MD5',
      expiresAt,
    });
    if (!placed.ok) {
      if (placed.code === 'ORDERPAID') return this.replies.error(400, 'ORDERPAID', '该订单已支付');
      if (placed.code === 'ORDERCLOSED') return this.replies.error(400, 'ORDER_CLOSED', '订单已关闭');
      return this.replies.error(403, 'OUT_TRADE_NO_USED', '商户订单号重复');
    }
    return this.replies.signedJson(200, { prepay_id: placed.order.prepayId });
  }

  /**
   * WeChat Pay's string rules on a JSAPI order, with its own messages: out_trade_no 6–32 bytes of
   * `[0-9A-Za-z_\-|*]`, description at most 127 bytes (UTF-8), notify_url an absolute URL without
   * query or fragment. WeChat cannot reach a plain-http or loopback URL; the sandbox can, so it
   * takes https anywhere and http only towards a loopback host or its callback base.
   */
  private checkStrings(b: Record<string, string>): SandboxReply | null {
    const bytes = (v: string) => Buffer.byteLength(v, 'utf8');
    const no = b.out_trade_no;
    if (bytes(no) < 6) return this.replies.stringRule('out_trade_no', '商户订单号', no, `字节数 ${bytes(no)}，小于最小值 6`);
    if (bytes(no) > 32) return this.replies.stringRule('out_trade_no', '商户订单号', no, `字节数 ${bytes(no)}，大于最大值 32`);
    if (!/^[0-9A-Za-z_\-|*]+$/.test(no))
      return this.replies.stringRule('out_trade_no', '商户订单号', no, '字符串必须匹配正则表达式“^[0-9a-zA-Z_\\-|\\*]{1,}$”');
    if (bytes(b.description) > 127)
      return this.replies.stringRule('description', '商品描述', b.description, `字节数 ${bytes(b.description)}，大于最大值 127`);
    if (!NOTIFY_URL.test(b.notify_url) || !this.reachableNotifyUrl(b.notify_url)) {
      return this.replies.stringRule('notify_url', '通知地址', b.notify_url, `字符串必须匹配正则表达式“${NOTIFY_URL_RULE}”`);
    }
    return null;
  }

  private reachableNotifyUrl(url: string): boolean {
    if (!URL.canParse(url)) return false;
    const u = new URL(url);
    if (u.protocol === 'https:') return true;
    const callbackHost = URL.canParse(this.config.wechat.sandboxCallbackBase) ? new URL(this.config.wechat.sandboxCallbackBase).host : '';
    return u.protocol === 'http:' && (LOOPBACK_HOSTS.has(u.hostname) || u.host === callbackHost);
  }

  /** `GET /v3/pay/transactions/out-trade-no/{no}?mchid=` and `…/id/{transaction_id}?mchid=`. */
  query(by: 'out_trade_no' | 'transaction_id', id: string, mchid: unknown): SandboxReply {
    if (typeof mchid !== 'string' || mchid === '') return this.replies.missing('mchid', 'query');
    if (mchid !== this.config.pay.mchId) return this.replies.error(400, 'MCH_NOT_EXISTS', '商户号不存在');
    const order = by === 'out_trade_no' ? this.store.orderByOutTradeNo(id) : this.store.orderByTransactionId(id);
    if (!order) return this.replies.error(404, 'ORDER_NOT_EXIST', '订单不存在');
    const t = this.documents.transaction(order);
    if (order.state === 'SUCCESS' && this.refunds.refunded(order) > 0) {
      t.trade_state = 'REFUND';
      t.trade_state_desc = '转入退款';
    }
    return this.replies.signedJson(200, t);
  }

  /** `POST /v3/pay/transactions/out-trade-no/{no}/close {mchid}` → 204. */
  close(no: string, body: unknown): SandboxReply {
    const mchid = isObject(body) ? body.mchid : undefined;
    if (typeof mchid !== 'string' || mchid === '') return this.replies.missing('mchid');
    if (mchid !== this.config.pay.mchId) return this.replies.error(400, 'MCH_NOT_EXISTS', '商户号不存在');
    const order = this.store.orderByOutTradeNo(no);
    if (!order) return this.replies.error(404, 'ORDER_NOT_EXIST', '订单不存在');
    if (this.orders.close(order) === 'paid') return this.replies.error(400, 'ORDERPAID', '订单已支付');
    return this.replies.signedJson(204, undefined);
  }
}
