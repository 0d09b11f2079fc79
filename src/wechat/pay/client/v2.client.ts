import { HttpService } from '@nestjs/axios';
import { Logger } from '@nestjs/common';
import { Clock } from '../../../common/clock';
import { maskId } from '../../../common/redact';
import { AppConfig } from '../../../config/app-config';
import { parseWechatXml } from '../../xml';
import { buildV2JsapiPaymentParams, V2Params, verifyV2ResponseSign } from '../crypto/v2-sign';
import { verifyV2Notification, verifyV2RefundNotification } from '../notify/v2-notification';
import {
  CreatedJsapiOrder,
  CreateJsapiOrderInput,
  isBillDate,
  isTradeState,
  JsapiPaymentParams,
  NotificationHeaders,
  OrderQueryResult,
  PayClient,
  PayNotification,
  RefundInput,
  RefundNotification,
  RefundResult,
  refundReason,
  TradeBillRow,
} from '../pay.client';
import { PayApiError, PayResponseSignatureError, PayUnavailableError } from '../pay-errors';
import { bodyShape, parseFen, V2_REFUND_STATE } from '../wire/fields';
import { formatV2Time, parseV2Time } from '../wire/times';
import { parseBillTime, parseTradeBill, TradeBillFormatError } from '../wire/trade-bill';
import { V2ClientCertificate } from './v2-client-certificate';
import { MAX_V2_ANSWER_BYTES, V2HttpTransport, V2PostOptions } from './v2-transport';

/** A busy merchant's day of trade lines; the bill is text without a signature. */
const MAX_BILL_BYTES = 64 * 1024 * 1024;

interface V2CallOptions extends V2PostOptions {
  /** err_codes of a refusal (result_code FAIL) the caller handles itself; any other refusal throws. */
  expected?: readonly string[];
}

interface V2Answer {
  fields: Record<string, string>;
  raw: string;
  /** The err_code of an expected refusal; undefined when result_code is SUCCESS. */
  refusal?: string;
}

/**
 * WeChat Pay v2 (XML over HTTPS): `pay/unifiedorder`, `pay/orderquery`, `pay/closeorder`,
 * `secapi/pay/refund`, `pay/refundquery`, `pay/downloadbill`. Every request is signed with the API
 * key in the configured sign type; every answer with return_code SUCCESS must carry a valid `sign`
 * and this merchant's appid/mch_id before any field is used (`call`). Notifications are verified
 * by notify/v2-notification.ts.
 */
export class PayV2Client extends PayClient {
  readonly version = 'v2' as const;
  private readonly logger = new Logger(PayV2Client.name);
  private readonly transport: V2HttpTransport;
  private readonly clientCertificate: V2ClientCertificate;

  constructor(
    http: HttpService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {
    super();
    this.transport = new V2HttpTransport(http, config);
    this.clientCertificate = new V2ClientCertificate(config);
  }

  async createJsapiOrder(input: CreateJsapiOrderInput): Promise<CreatedJsapiOrder> {
    if (!Number.isSafeInteger(input.amountFen) || input.amountFen <= 0) throw new TypeError('amountFen must be a positive integer');
    const { fields } = await this.call('pay/unifiedorder', {
      body: input.description,
      out_trade_no: input.orderNo,
      total_fee: input.amountFen,
      spbill_create_ip: input.payerIp,
      time_expire: formatV2Time(input.expireAt),
      notify_url: input.notifyUrl,
      trade_type: 'JSAPI',
      openid: input.payerOpenid,
    });
    const prepayId = fields.prepay_id;
    if (!prepayId) throw new PayUnavailableError('pay/unifiedorder: answer without prepay_id');
    return { prepayId, paymentParams: this.jsapiParams(prepayId) };
  }

  jsapiParams(prepayId: string): JsapiPaymentParams {
    const { apiKey, signType } = this.config.pay;
    return buildV2JsapiPaymentParams(this.config.wechat.appId, prepayId, apiKey, signType, String(this.clock.nowSeconds()));
  }

  async queryOrder(orderNo: string): Promise<OrderQueryResult> {
    const { fields, raw, refusal } = await this.call('pay/orderquery', { out_trade_no: orderNo }, { expected: ['ORDERNOTEXIST'] });
    if (refusal) return { state: 'NOT_FOUND', raw };
    if (!isTradeState(fields.trade_state))
      throw new PayUnavailableError(`pay/orderquery: unknown trade_state ${fields.trade_state ?? '(missing)'}`);
    const paid = fields.trade_state === 'SUCCESS';
    return {
      state: fields.trade_state,
      transactionId: fields.transaction_id || undefined,
      totalFen: parseFen(fields.total_fee) ?? undefined,
      payerOpenid: fields.openid || undefined,
      paidAt: paid ? (parseV2Time(fields.time_end) ?? undefined) : undefined,
      appId: fields.appid,
      mchId: fields.mch_id,
      raw,
    };
  }

  /** An already-closed order (ORDERCLOSED) is fine. */
  async closeOrder(orderNo: string): Promise<void> {
    await this.call('pay/closeorder', { out_trade_no: orderNo }, { expected: ['ORDERCLOSED'] });
  }

  verifyNotification(headers: NotificationHeaders, rawBody: Buffer): Promise<PayNotification> {
    return verifyV2Notification(this.config, headers, rawBody);
  }

  verifyRefundNotification(headers: NotificationHeaders, rawBody: Buffer): Promise<RefundNotification> {
    return verifyV2RefundNotification(this.config, headers, rawBody);
  }

  /**
   * `secapi/pay/refund`, over TLS with the merchant's API client certificate. WeChat accepts the
   * refund (result SUCCESS) and reports the outcome later by notification: the answer is PROCESSING.
   */
  async refund(input: RefundInput): Promise<RefundResult> {
    const api = 'secapi/pay/refund';
    if (!Number.isSafeInteger(input.refundFen) || input.refundFen <= 0 || input.refundFen > input.totalFen) {
      throw new TypeError('refundFen must be a positive integer not above totalFen');
    }
    const { fields, raw } = await this.call(
      api,
      {
        out_trade_no: input.orderNo,
        out_refund_no: input.refundNo,
        total_fee: input.totalFen,
        refund_fee: input.refundFen,
        refund_desc: refundReason(input.reason),
        notify_url: input.notifyUrl,
      },
      { httpsAgent: this.clientCertificate.agentFor(api) },
    );
    return {
      state: 'PROCESSING',
      refundNo: fields.out_refund_no || input.refundNo,
      orderNo: fields.out_trade_no || input.orderNo,
      wxRefundId: fields.refund_id || undefined,
      refundFen: parseFen(fields.refund_fee) ?? input.refundFen,
      totalFen: parseFen(fields.total_fee) ?? input.totalFen,
      raw,
    };
  }

  /** `pay/refundquery` by out_refund_no (no client certificate needed). */
  async queryRefund(refundNo: string): Promise<RefundResult> {
    const api = 'pay/refundquery';
    const { fields, raw, refusal } = await this.call(api, { out_refund_no: refundNo }, { expected: ['REFUNDNOTEXIST'] });
    if (refusal) return { state: 'NOT_FOUND', refundNo, raw };
    const count = Number(fields.refund_count ?? '0');
    for (let i = 0; i < count && i < 100; i++) {
      if (fields[`out_refund_no_${i}`] !== refundNo) continue;
      const state = V2_REFUND_STATE[fields[`refund_status_${i}`] ?? ''];
      if (!state) throw new PayUnavailableError(`${api}: unknown refund_status ${fields[`refund_status_${i}`] ?? '(missing)'}`);
      return {
        state,
        refundNo,
        orderNo: fields.out_trade_no || undefined,
        wxRefundId: fields[`refund_id_${i}`] || undefined,
        refundFen: parseFen(fields[`refund_fee_${i}`]) ?? undefined,
        totalFen: parseFen(fields.total_fee) ?? undefined,
        successAt: parseBillTime(fields[`refund_success_time_${i}`] ?? '') ?? undefined,
        raw,
      };
    }
    throw new PayUnavailableError(`${api}: answer does not list the refund`);
  }

  /**
   * `pay/downloadbill` (bill_type ALL): the answer is the bill text itself, unsigned; a refusal is
   * an XML document instead. "No Bill Exist" means no transaction that day: an empty bill.
   */
  async downloadTradeBill(date: string): Promise<TradeBillRow[]> {
    const api = 'pay/downloadbill';
    if (!isBillDate(date)) throw new TypeError('date must be YYYY-MM-DD');
    const raw = await this.transport.post(api, { bill_date: date.replace(/-/g, ''), bill_type: 'ALL' }, { maxBytes: MAX_BILL_BYTES });
    if (bodyShape(raw) === 'xml') {
      let fields: Record<string, string>;
      try {
        fields = await parseWechatXml(raw, MAX_V2_ANSWER_BYTES);
      } catch {
        throw new PayUnavailableError(`${api}: unreadable answer`);
      }
      const message = fields.return_msg ?? fields.err_code_des ?? '';
      if (/no bill exist/i.test(message)) return [];
      const code = fields.error_code || fields.err_code || 'RETURN_FAIL';
      if (code === 'SYSTEMERROR' || /system ?error|系统/i.test(message)) throw new PayUnavailableError(`${api}: ${message || code}`);
      throw new PayApiError(code, `${api}: ${message || 'return_code FAIL'}`);
    }
    try {
      return parseTradeBill(raw);
    } catch (err) {
      if (err instanceof TradeBillFormatError) throw new PayUnavailableError(`${api}: ${err.message}`);
      throw err;
    }
  }

  /**
   * The one way a v2 API is called: signed and posted (V2HttpTransport), then the answer is checked
   * before any field is used — parseable XML, return_code SUCCESS, a valid sign, this merchant's
   * appid and mch_id — and so is its result_code: a refusal throws (businessError) unless its
   * err_code is one the caller handles (`expected`), which comes back as `refusal`.
   */
  private async call(api: string, params: V2Params, options: V2CallOptions = {}): Promise<V2Answer> {
    const { appId } = this.config.wechat;
    const { mchId, apiKey, signType } = this.config.pay;
    const raw = await this.transport.post(api, params, options);

    let fields: Record<string, string>;
    try {
      fields = await parseWechatXml(raw, MAX_V2_ANSWER_BYTES);
    } catch {
      throw new PayUnavailableError(`${api}: unreadable answer`);
    }
    if (fields.return_code !== 'SUCCESS') {
      // Communication-level refusal (bad sign, bad parameters…): unsigned, carries only return_msg.
      const message = fields.return_msg ?? '';
      throw new PayApiError(/签名错误|签名失败/.test(message) ? 'SIGNERROR' : 'RETURN_FAIL', `${api}: ${message || 'return_code FAIL'}`);
    }
    if (!verifyV2ResponseSign(fields, apiKey, signType)) {
      this.logger.warn(`${api}: answer sign missing or invalid; answer discarded`);
      throw new PayResponseSignatureError(`${api}: answer sign missing or invalid`);
    }
    if (fields.appid !== appId || fields.mch_id !== mchId) {
      this.logger.warn(`${api}: answer for another merchant (appid ${maskId(fields.appid)}, mch_id ${fields.mch_id ?? ''})`);
      throw new PayResponseSignatureError(`${api}: answer appid/mch_id is not this merchant`);
    }
    if (fields.result_code === 'SUCCESS') return { fields, raw };
    if (fields.err_code && options.expected?.includes(fields.err_code)) return { fields, raw, refusal: fields.err_code };
    throw businessError(api, fields);
  }
}

/** A refusal (result_code FAIL) as the typed error: WeChat's code, or unavailability when WeChat says to retry. */
function businessError(api: string, fields: Record<string, string>): Error {
  const code = fields.err_code || 'FAIL';
  const message = `${api}: ${code}${fields.err_code_des ? ` ${fields.err_code_des}` : ''}`;
  // WeChat's "system busy, retry with the same parameters": an outage, not a refusal.
  if (code === 'SYSTEMERROR' || code === 'BIZERR_NEED_RETRY') return new PayUnavailableError(message);
  return new PayApiError(code, message);
}
