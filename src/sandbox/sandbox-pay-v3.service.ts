import { Injectable, Logger } from '@nestjs/common';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Request } from 'express';
import { Clock } from '../common/clock';
import { toIsoShanghai } from '../common/time-format';
import { AppConfig } from '../config/app-config';
import { randomNonce } from '../wechat/nonce';
import { aesGcmEncrypt } from '../wechat/pay/crypto/aes-gcm';
import { parseV3Time } from '../wechat/pay/wire/times';
import { parseV3Authorization, v3RequestMessage, v3ResponseMessage, v3SignRsa, v3VerifyRsa } from '../wechat/pay/crypto/v3-sign';
import { isFreshTimestamp } from '../wechat/signature';
import { BILL_DOWNLOAD_TTL_MS, V3_MAX_SKEW_SECONDS } from './sandbox.constants';
import { SandboxBillsService } from './sandbox-bills.service';
import { RefundRefusal, SandboxRefundsService } from './sandbox-refunds.service';
import { SandboxReply } from './sandbox-reply';
import { SandboxFaultsService } from './sandbox-faults.service';
import { SandboxKeysService } from './sandbox-keys.service';
import { SandboxPayOrdersService, TRADE_STATE_DESC } from './sandbox-pay-orders.service';
import { SandboxOrder, SandboxRefund, SandboxStore } from './sandbox.store';

type Json = Record<string, unknown>;

const V3_REFUND_REFUSAL: Record<RefundRefusal, [number, string, string]> = {
  ORDER_NOT_EXIST: [404, 'RESOURCE_NOT_EXISTS', '订单不存在'],
  NOT_PAID: [400, 'INVALID_REQUEST', '订单未支付，不能退款'],
  TOTAL_MISMATCH: [400, 'PARAM_ERROR', '订单金额与实际支付金额不符'],
  EXCEEDS: [400, 'INVALID_REQUEST', '申请退款金额超过订单可退金额'],
  REFUND_NO_REUSED: [400, 'INVALID_REQUEST', '订单金额或退款金额与之前请求不一致，请核实后再试'],
};

const REFUND_EVENT = {
  SUCCESS: ['REFUND.SUCCESS', '退款成功'],
  CLOSED: ['REFUND.CLOSED', '退款关闭'],
  ABNORMAL: ['REFUND.ABNORMAL', '退款异常'],
} as const;

const TRADE_STATE_DESC_V3: Record<SandboxOrder['state'], string> = {
  ...TRADE_STATE_DESC,
  NOTPAY: '未支付',
  CLOSED: '已关闭',
};

/** WeChat Pay's own pattern for notify_url (quoted in its PARAM_ERROR message): no query, no fragment. */
const NOTIFY_URL_RULE = String.raw`^https?://([^\s/?#\[\]\@]+\@)?([^\s/?#\@:]+)(?::\d{2,5})?([^\s?#\[\]]*)$`;
const NOTIFY_URL = new RegExp(NOTIFY_URL_RULE);
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

function isObject(x: unknown): x is Json {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Signed response headers of WeChat Pay APIv3 (and of its notifications). */
export interface V3SignedHeaders {
  'Wechatpay-Timestamp': string;
  'Wechatpay-Nonce': string;
  'Wechatpay-Signature': string;
  'Wechatpay-Serial': string;
  'Wechatpay-Signature-Type': string;
}

/**
 * WeChat Pay APIv3 (JSON). Every request must carry the merchant's
 * `Authorization: WECHATPAY2-SHA256-RSA2048 mchid=…,nonce_str=…,signature=…,timestamp=…,serial_no=…`
 * signed over `METHOD\nPATH_WITH_QUERY\nTIMESTAMP\nNONCE\nBODY\n`, where PATH_WITH_QUERY is the
 * request target exactly as it arrived on the wire (`req.originalUrl`, so it includes the
 * `/sandbox/pay` prefix of the sandbox base URL — what WeChat's SDKs sign: the full URL path of the
 * request) and BODY the exact body bytes. Every response is signed with the platform key over
 * `TIMESTAMP\nNONCE\nBODY\n` in `Wechatpay-*` headers.
 */
@Injectable()
export class SandboxPayV3Service {
  private readonly logger = new Logger('Sandbox');

  constructor(
    private readonly store: SandboxStore,
    private readonly orders: SandboxPayOrdersService,
    private readonly faults: SandboxFaultsService,
    private readonly keys: SandboxKeysService,
    private readonly refunds: SandboxRefundsService,
    private readonly bills: SandboxBillsService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /** Null when the Authorization header verifies; otherwise the 401 WeChat answers. */
  authenticate(req: Request, rawBody: Buffer): SandboxReply | null {
    this.store.count('pay_requests_v3');
    const refuse = (message: string) => {
      this.store.count('pay_auth_failures');
      this.logger.debug(`v3 ${req.method} refused: ${message}`);
      return this.error(401, 'SIGN_ERROR', message);
    };
    const header = req.headers.authorization;
    const parts = typeof header === 'string' ? parseV3Authorization(header) : null;
    if (!parts) return refuse('Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》');
    if (parts.mchid !== this.config.pay.mchId) return refuse('Http头Authorization中的mchid与商户号不匹配');
    if (parts.serialNo.toUpperCase() !== this.config.pay.certSerial.toUpperCase()) {
      return refuse('商户证书序列号有误。请使用签名私钥匹配的证书序列号');
    }
    if (!isFreshTimestamp(parts.timestamp, this.clock.nowSeconds(), V3_MAX_SKEW_SECONDS)) {
      return refuse('Http头Authorization中的timestamp与发起请求的时间不得超过5分钟');
    }
    const body = rawBody.toString('utf8');
    const message = v3RequestMessage(req.method, req.originalUrl, parts.timestamp, parts.nonceStr, body);
    if (!v3VerifyRsa(message, parts.signature, this.keys.keys.merchantPublicKey)) return refuse('错误的签名，验签失败');
    return null;
  }

  /** `POST /v3/pay/transactions/jsapi`. */
  jsapi(body: unknown): SandboxReply {
    if (!isObject(body)) return this.error(400, 'PARAM_ERROR', '请求体不是合法的JSON对象');
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
      if (typeof value !== 'string' || value === '') return this.missing(name);
    }
    if (!amount || amount.total === undefined) return this.missing('amount/total');
    if (!payer || payer.openid === undefined) return this.missing('payer/openid');
    const b = body as Record<string, string>;
    if (typeof amount.total !== 'number' || !Number.isInteger(amount.total) || amount.total < 1 || amount.total > 2 ** 31 - 1) {
      return this.invalid('amount/total');
    }
    if (amount.currency !== undefined && amount.currency !== 'CNY') return this.invalid('amount/currency');
    if (typeof payer.openid !== 'string' || payer.openid === '') return this.invalid('payer/openid');
    const refused = this.checkStrings(b);
    if (refused) return refused;
    if (body.attach !== undefined && (typeof body.attach !== 'string' || body.attach.length > 128)) return this.invalid('attach');
    let expiresAt: number | undefined;
    if (body.time_expire !== undefined) {
      const parsed = typeof body.time_expire === 'string' ? parseV3Time(body.time_expire) : null;
      if (!parsed) return this.stringRule('time_expire', '交易结束时间', body.time_expire, '字符串必须是符合 RFC3339 日期时间格式');
      expiresAt = parsed.getTime();
    }
    if (b.mchid !== this.config.pay.mchId) return this.error(400, 'MCH_NOT_EXISTS', '商户号不存在');
    if (b.appid !== this.config.wechat.appId) return this.error(400, 'APPID_MCHID_NOT_MATCH', 'AppID和mch_id不匹配');
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
      if (placed.code === 'ORDERPAID') return this.error(400, 'ORDERPAID', '该订单已支付');
      if (placed.code === 'ORDERCLOSED') return this.error(400, 'ORDER_CLOSED', '订单已关闭');
      return this.error(403, 'OUT_TRADE_NO_USED', '商户订单号重复');
    }
    return this.signedJson(200, { prepay_id: placed.order.prepayId });
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
    if (bytes(no) < 6) return this.stringRule('out_trade_no', '商户订单号', no, `字节数 ${bytes(no)}，小于最小值 6`);
    if (bytes(no) > 32) return this.stringRule('out_trade_no', '商户订单号', no, `字节数 ${bytes(no)}，大于最大值 32`);
    if (!/^[0-9A-Za-z_\-|*]+$/.test(no))
      return this.stringRule('out_trade_no', '商户订单号', no, '字符串必须匹配正则表达式“^[0-9a-zA-Z_\\-|\\*]{1,}$”');
    if (bytes(b.description) > 127)
      return this.stringRule('description', '商品描述', b.description, `字节数 ${bytes(b.description)}，大于最大值 127`);
    if (!NOTIFY_URL.test(b.notify_url) || !this.reachableNotifyUrl(b.notify_url)) {
      return this.stringRule('notify_url', '通知地址', b.notify_url, `字符串必须匹配正则表达式“${NOTIFY_URL_RULE}”`);
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
    if (typeof mchid !== 'string' || mchid === '') return this.missing('mchid', 'query');
    if (mchid !== this.config.pay.mchId) return this.error(400, 'MCH_NOT_EXISTS', '商户号不存在');
    const order = by === 'out_trade_no' ? this.store.orderByOutTradeNo(id) : this.store.orderByTransactionId(id);
    if (!order) return this.error(404, 'ORDER_NOT_EXIST', '订单不存在');
    const t = this.transaction(order);
    if (order.state === 'SUCCESS' && this.refunds.refunded(order) > 0) {
      t.trade_state = 'REFUND';
      t.trade_state_desc = '转入退款';
    }
    return this.signedJson(200, t);
  }

  /** `POST /v3/refund/domestic/refunds` (out_trade_no or transaction_id). */
  refund(body: unknown): SandboxReply {
    if (!isObject(body)) return this.error(400, 'PARAM_ERROR', '请求体不是合法的JSON对象');
    const amount = isObject(body.amount) ? body.amount : undefined;
    if (typeof body.out_refund_no !== 'string' || body.out_refund_no === '') return this.missing('out_refund_no');
    if (
      (typeof body.out_trade_no !== 'string' || body.out_trade_no === '') &&
      (typeof body.transaction_id !== 'string' || body.transaction_id === '')
    ) {
      return this.missing('out_trade_no');
    }
    if (!amount || amount.refund === undefined) return this.missing('amount/refund');
    if (amount.total === undefined) return this.missing('amount/total');
    if (amount.currency === undefined) return this.missing('amount/currency');
    if (!/^[A-Za-z0-9_\-|*@]{1,64}$/.test(body.out_refund_no)) return this.invalid('out_refund_no');
    for (const field of ['refund', 'total'] as const) {
      const v = amount[field];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 2 ** 31 - 1) return this.invalid(`amount/${field}`);
    }
    if (amount.currency !== 'CNY') return this.invalid('amount/currency');
    if ((amount.refund as number) > (amount.total as number)) return this.error(400, 'PARAM_ERROR', '退款金额不能大于订单金额');
    if (body.reason !== undefined && (typeof body.reason !== 'string' || [...body.reason].length > 80)) return this.invalid('reason');
    if (
      body.notify_url !== undefined &&
      (typeof body.notify_url !== 'string' || !URL.canParse(body.notify_url) || !/^https?:\/\//i.test(body.notify_url))
    ) {
      return this.invalid('notify_url');
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
    if (!placed.ok) return this.error(...V3_REFUND_REFUSAL[placed.code]);
    return this.signedJson(200, this.refundObject(placed.refund));
  }

  /** `GET /v3/refund/domestic/refunds/{out_refund_no}`. */
  queryRefund(no: string): SandboxReply {
    const refund = this.store.refundByOutRefundNo(no);
    if (!refund) return this.error(404, 'RESOURCE_NOT_EXISTS', '退款单不存在');
    return this.signedJson(200, this.refundObject(refund));
  }

  /**
   * `GET /v3/bill/tradebill?bill_date=&bill_type=&tar_type=`: the signed answer names the file's
   * SHA1 (of the uncompressed bill) and a short-lived `download_url` on the host the request came
   * to; the file itself (`/v3/billdownload/file`) is not signed.
   */
  tradeBill(query: Record<string, unknown>, downloadBase: string): SandboxReply {
    const date = query.bill_date;
    if (typeof date !== 'string' || date === '') return this.missing('bill_date', 'query');
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`)))
      return this.error(400, 'PARAM_ERROR', 'bill_date格式错误');
    if (!this.bills.isServable(date)) return this.error(400, 'INVALID_REQUEST', '账单日期不能晚于今天');
    const type = query.bill_type === undefined ? 'ALL' : query.bill_type;
    if (type !== 'ALL' && type !== 'SUCCESS' && type !== 'REFUND') return this.error(400, 'PARAM_ERROR', 'bill_type参数错误');
    const tar = query.tar_type;
    if (tar !== undefined && tar !== 'GZIP') return this.error(400, 'PARAM_ERROR', 'tar_type参数错误');
    const text = this.bills.text(date, type);
    if (text === null) return this.error(400, 'NO_STATEMENT_EXIST', '账单文件不存在');
    const plain = Buffer.from(text, 'utf8');
    const token = randomBytes(16).toString('hex');
    this.store.addBillFile(token, {
      bytes: tar === 'GZIP' ? gzipSync(plain) : plain,
      gzip: tar === 'GZIP',
      expiresAt: this.clock.nowMs() + BILL_DOWNLOAD_TTL_MS,
    });
    return this.signedJson(200, {
      hash_type: 'SHA1',
      hash_value: createHash('sha1').update(plain).digest('hex'),
      download_url: `${downloadBase}/v3/billdownload/file?token=${token}`,
    });
  }

  /** `GET /v3/billdownload/file?token=`: the bill bytes, unsigned (checked by hash_value). */
  billFile(token: unknown): SandboxReply {
    const file = typeof token === 'string' ? this.store.billFiles.get(token) : undefined;
    if (!file || file.expiresAt < this.clock.nowMs()) return this.error(400, 'INVALID_REQUEST', 'token无效或已过期');
    this.store.count('bills_downloaded');
    return { status: 200, headers: { 'Content-Type': file.gzip ? 'application/x-gzip' : 'text/plain; charset=utf-8' }, body: file.bytes };
  }

  /** The refund object of the refund API and (decrypted) of REFUND.* notifications. */
  refundObject(r: SandboxRefund): Json {
    const out: Json = {
      refund_id: r.refundId,
      out_refund_no: r.outRefundNo,
      transaction_id: r.transactionId,
      out_trade_no: r.outTradeNo,
      channel: 'ORIGINAL',
      user_received_account: '支付用户零钱',
      create_time: toIsoShanghai(new Date(r.createdAt)),
      status: r.state,
      funds_account: 'UNSETTLED',
      amount: {
        total: r.totalFen,
        refund: r.refundFen,
        payer_total: r.totalFen,
        payer_refund: r.refundFen,
        settlement_refund: r.refundFen,
        settlement_total: r.totalFen,
        discount_refund: 0,
        currency: 'CNY',
        refund_fee: 0,
      },
    };
    if (r.successAt !== undefined) out.success_time = toIsoShanghai(new Date(r.successAt));
    return out;
  }

  /** A REFUND.SUCCESS / REFUND.CLOSED / REFUND.ABNORMAL notification body for a refund with a result. */
  refundNotificationBody(r: SandboxRefund): string {
    const [eventType, summary] = REFUND_EVENT[r.state === 'PROCESSING' ? 'ABNORMAL' : r.state];
    const resource: Json = {
      mchid: this.config.pay.mchId,
      out_trade_no: r.outTradeNo,
      transaction_id: r.transactionId,
      out_refund_no: r.outRefundNo,
      refund_id: r.refundId,
      refund_status: r.state,
      user_received_account: '支付用户零钱',
      amount: { total: r.totalFen, refund: r.refundFen, payer_total: r.totalFen, payer_refund: r.refundFen },
    };
    if (r.successAt !== undefined) resource.success_time = toIsoShanghai(new Date(r.successAt));
    const nonce = randomNonce(12);
    const ciphertext = aesGcmEncrypt({
      key: this.config.pay.apiV3Key,
      nonce,
      associatedData: 'refund',
      plaintext: JSON.stringify(resource),
    });
    return JSON.stringify({
      id: randomUUID(),
      create_time: toIsoShanghai(this.clock.now()),
      resource_type: 'encrypt-resource',
      event_type: eventType,
      summary,
      resource: { original_type: 'refund', algorithm: 'AEAD_AES_256_GCM', ciphertext, associated_data: 'refund', nonce },
    });
  }

  /** `POST /v3/pay/transactions/out-trade-no/{no}/close {mchid}` → 204. */
  close(no: string, body: unknown): SandboxReply {
    const mchid = isObject(body) ? body.mchid : undefined;
    if (typeof mchid !== 'string' || mchid === '') return this.missing('mchid');
    if (mchid !== this.config.pay.mchId) return this.error(400, 'MCH_NOT_EXISTS', '商户号不存在');
    const order = this.store.orderByOutTradeNo(no);
    if (!order) return this.error(404, 'ORDER_NOT_EXIST', '订单不存在');
    if (this.orders.close(order) === 'paid') return this.error(400, 'ORDERPAID', '订单已支付');
    return this.signedJson(204, undefined);
  }

  /** `GET /v3/certificates`: the platform certificate, AES-256-GCM encrypted with the APIv3 key. */
  certificates(): SandboxReply {
    const certificate = this.keys.platformCertificate;
    const nonce = randomNonce(12);
    let ciphertext: string;
    try {
      ciphertext = aesGcmEncrypt({ key: this.config.pay.apiV3Key, nonce, associatedData: 'certificate', plaintext: certificate.pem });
    } catch {
      return this.error(500, 'SYSTEM_ERROR', 'APIv3密钥未设置或长度不是32字节');
    }
    return this.signedJson(200, {
      data: [
        {
          serial_no: certificate.serial,
          effective_time: toIsoShanghai(certificate.notBefore),
          expire_time: toIsoShanghai(certificate.notAfter),
          encrypt_certificate: { algorithm: 'AEAD_AES_256_GCM', nonce, associated_data: 'certificate', ciphertext },
        },
      ],
    });
  }

  /** The transaction object of queries and of the encrypted notification resource. */
  transaction(order: SandboxOrder): Json {
    const paid = order.state === 'SUCCESS';
    const t: Json = {
      appid: order.appid,
      mchid: order.mchid,
      out_trade_no: order.outTradeNo,
      trade_type: order.tradeType,
      trade_state: order.state,
      trade_state_desc: TRADE_STATE_DESC_V3[order.state],
      attach: order.attach,
      payer: { openid: order.openid },
      amount: paid
        ? { total: order.totalFen, payer_total: order.totalFen, currency: order.currency, payer_currency: order.currency }
        : { total: order.totalFen, currency: order.currency, payer_currency: order.currency },
    };
    if (paid) {
      t.transaction_id = order.transactionId;
      t.bank_type = 'OTHERS';
      t.success_time = toIsoShanghai(new Date(order.paidAt ?? this.clock.nowMs()));
    }
    return t;
  }

  /** The notification body for a paid order (one `id` per notification; retries resend this body). */
  notificationBody(order: SandboxOrder): string {
    const nonce = randomNonce(12);
    const ciphertext = aesGcmEncrypt({
      key: this.config.pay.apiV3Key,
      nonce,
      associatedData: 'transaction',
      plaintext: JSON.stringify(this.transaction(order)),
    });
    return JSON.stringify({
      id: randomUUID(),
      create_time: toIsoShanghai(this.clock.now()),
      resource_type: 'encrypt-resource',
      event_type: 'TRANSACTION.SUCCESS',
      summary: '支付成功',
      resource: { original_type: 'transaction', algorithm: 'AEAD_AES_256_GCM', ciphertext, associated_data: 'transaction', nonce },
    });
  }

  /**
   * Fresh `Wechatpay-*` headers over `body`, signed with the platform private key. The serial is the
   * public key id unless the `v3_serial` knob asks for the certificate serial; the `bad_signature`
   * fault signs a different message.
   */
  signHeaders(body: string): V3SignedHeaders {
    const timestamp = String(this.clock.nowSeconds());
    const nonce = randomNonce(32);
    const signed = this.faults.badSignature ? `${body} ` : body;
    return {
      'Wechatpay-Timestamp': timestamp,
      'Wechatpay-Nonce': nonce,
      'Wechatpay-Signature': v3SignRsa(v3ResponseMessage(timestamp, nonce, signed), this.keys.keys.platformPrivateKey),
      'Wechatpay-Serial': this.keys.responseSerial(this.store.faults.v3_serial),
      'Wechatpay-Signature-Type': 'WECHATPAY2-SHA256-RSA2048',
    };
  }

  private signedJson(status: number, payload: unknown): SandboxReply {
    const body = payload === undefined ? '' : JSON.stringify(payload);
    const headers: Record<string, string> = { ...this.signHeaders(body), 'Request-ID': randomUUID() };
    if (body) headers['Content-Type'] = 'application/json; charset=utf-8';
    return { status, headers, body };
  }

  private error(status: number, code: string, message: string): SandboxReply {
    return this.signedJson(status, { code, message });
  }

  private missing(field: string, source: 'body' | 'query' = 'body'): SandboxReply {
    return this.error(400, 'PARAM_ERROR', `输入源“/${source}/${field}”映射到值字段“${field}”必填性规则校验失败，此字段为必填项`);
  }

  /** WeChat's answer to a string rule broken: PARAM_ERROR naming the field, its label and the rule, with the value in `detail`. */
  private stringRule(field: string, label: string, value: unknown, rule: string): SandboxReply {
    return this.signedJson(400, {
      code: 'PARAM_ERROR',
      detail: { location: 'body', value },
      message: `输入源“/body/${field}”映射到值字段“${label}”字符串规则校验失败，${rule}`,
    });
  }

  private invalid(field: string): SandboxReply {
    return this.error(400, 'PARAM_ERROR', `输入源“/body/${field}”映射到值字段“${field}”格式或取值错误`);
  }

  /** Whether a JSAPI RSA paySign verifies with the merchant's public key. */
  verifyRsaPaySign(message: string, paySign: string): boolean {
    return v3VerifyRsa(message, paySign, this.keys.keys.merchantPublicKey);
  }
}
