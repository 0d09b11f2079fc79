import { readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { createSecureContext } from 'node:tls';
import { HttpService } from '@nestjs/axios';
import { Logger } from '@nestjs/common';
import { firstValueFrom } from 'rxjs';
import { Clock } from '../../common/clock';
import { maskId } from '../../common/redact';
import { AppConfig } from '../../config/app-config';
import { WechatPayCryptoError, XmlRejectedError } from '../errors';
import { randomNonce } from '../nonce';
import { safeEqual } from '../signature';
import { buildXml, parseWechatXml } from '../xml';
import {
  bodyShape,
  CreatedJsapiOrder,
  CreateJsapiOrderInput,
  DEFAULT_PAY_TIMEOUT_MS,
  headerValue,
  isTradeState,
  JsapiPaymentParams,
  NotificationHeaders,
  OrderQueryResult,
  parseFen,
  PayClient,
  PayNotification,
  RefundInput,
  RefundNotification,
  RefundResult,
  RefundState,
  isBillDate,
  refundReason,
  TradeBillRow,
} from './pay.client';
import { PayApiError, PayNotificationError, PayResponseSignatureError, PayUnavailableError, unavailableFrom } from './pay-errors';
import { parseBillTime, parseTradeBill, TradeBillFormatError } from './trade-bill';
import { decryptV2RefundReqInfo } from './v2-refund-crypto';
import { V2Params, v2Sign, V2SignType, v2Verify } from './v2-sign';
import { fromShanghaiWallClock, shanghaiCompact } from '../../common/time-format';

const MAX_RESPONSE_BYTES = 1024 * 1024;
/** A busy merchant's day of trade lines; the bill is text without a signature. */
const MAX_BILL_BYTES = 64 * 1024 * 1024;

/** v2 refund states (`refund_status`, `refund_status_$n`) in the port's words. CHANGE = refund to the card failed. */
const V2_REFUND_STATE: Record<string, RefundState> = {
  SUCCESS: 'SUCCESS',
  PROCESSING: 'PROCESSING',
  CHANGE: 'ABNORMAL',
  REFUNDCLOSE: 'CLOSED',
};

/** `yyyyMMddHHmmss` in Asia/Shanghai (v2 `time_expire`, `time_start`). China has no DST: +08:00 is exact. */
export function formatV2Time(date: Date): string {
  return shanghaiCompact(date);
}

/** v2 `time_end` (`yyyyMMddHHmmss`, Asia/Shanghai) → Date; null for anything not a real time. */
export function parseV2Time(value: string | undefined): Date | null {
  const match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(value ?? '');
  if (!match) return null;
  const [y, mo, d, h, mi, s] = match.slice(1).map(Number);
  const date = fromShanghaiWallClock(y, mo, d, h, mi, s);
  // Date.UTC rolls 20240231 over to March; a round trip catches every out-of-range field.
  return formatV2Time(date) === value ? date : null;
}

/**
 * The v2 JSAPI parameters: `paySign` over appId, timeStamp, nonceStr, package, signType with the
 * API key, in the configured sign type (the same type the order was placed with).
 */
export function buildV2JsapiPaymentParams(
  appId: string,
  prepayId: string,
  apiKey: string,
  signType: V2SignType,
  timeStamp: string,
  nonceStr: string = randomNonce(32),
): JsapiPaymentParams {
  const unsigned = { appId, timeStamp, nonceStr, package: `prepay_id=${prepayId}`, signType };
  return { ...unsigned, paySign: v2Sign(unsigned, apiKey, signType) };
}

/**
 * Verifies a v2 response's `sign`. WeChat does not echo `sign_type` in responses: it signs them
 * with the type of the request, which is always the configured one. A `sign_type` in the response
 * (signed like any field) wins.
 */
export function verifyV2ResponseSign(fields: Record<string, string>, apiKey: string, requestSignType: V2SignType): boolean {
  const sign = fields.sign;
  if (!sign) return false;
  const declared = fields.sign_type || requestSignType;
  if (declared !== 'MD5' && declared !== 'HMAC-SHA256') return false;
  return safeEqual(v2Sign(fields, apiKey, declared), sign);
}

/**
 * Verifies and decodes a v2 payment notification (docs/callbacks.md §3). Pure: config in, result out.
 *
 * Notifications are verified by their own `sign_type` (absent → MD5). WeChat has been seen to sign
 * notifications of HMAC-SHA256 merchants with HMAC without saying so, so when the configured type
 * is HMAC-SHA256 an unlabelled notification may match either; both are keyed with the API key, so
 * this widens nothing an attacker could use.
 */
export async function verifyV2Notification(config: AppConfig, headers: NotificationHeaders, rawBody: Buffer): Promise<PayNotification> {
  const shape = bodyShape(rawBody);
  if (shape === 'json' || (shape !== 'xml' && headerValue(headers, 'wechatpay-signature') !== undefined)) {
    throw new PayNotificationError('wrong_protocol', 'v3 notification sent to a v2 configuration');
  }
  let fields: Record<string, string>;
  try {
    fields = await parseNotificationXml(config, rawBody);
  } catch (err) {
    const why = err instanceof XmlRejectedError ? err.reason : 'unparseable';
    throw new PayNotificationError('malformed', `notification XML rejected (${why})`);
  }
  // A refund result that reached the pay notify URL (e.g. the console's default refund URL): decoded the same way.
  if (fields.req_info !== undefined) return decodeV2Refund(config, fields);
  if (fields.return_code !== 'SUCCESS') throw new PayNotificationError('return_fail', `return_code ${fields.return_code ?? '(missing)'}`);

  const { apiKey, signType } = config.pay;
  const signed =
    v2Verify(fields, apiKey) || (!fields.sign_type && signType === 'HMAC-SHA256' && verifyV2ResponseSign(fields, apiKey, 'HMAC-SHA256'));
  if (!signed) throw new PayNotificationError('bad_signature', 'notification sign does not verify');
  if (fields.appid !== config.wechat.appId || fields.mch_id !== config.pay.mchId) {
    throw new PayNotificationError('wrong_merchant', 'notification appid/mch_id is not this merchant');
  }

  const orderNo = fields.out_trade_no;
  if (!orderNo) throw new PayNotificationError('malformed', 'notification without out_trade_no');
  const raw = rawBody.toString('utf8');
  const paidAt = parseV2Time(fields.time_end) ?? undefined;
  if (fields.result_code !== 'SUCCESS') {
    return {
      kind: 'payment',
      success: false,
      orderNo,
      transactionId: fields.transaction_id ?? '',
      totalFen: parseFen(fields.total_fee) ?? 0,
      payerOpenid: fields.openid ?? '',
      paidAt,
      raw,
    };
  }
  const totalFen = parseFen(fields.total_fee);
  if (!fields.transaction_id || totalFen === null || !fields.openid) {
    throw new PayNotificationError('malformed', 'successful payment notification misses transaction_id, total_fee or openid');
  }
  return {
    kind: 'payment',
    success: true,
    orderNo,
    transactionId: fields.transaction_id,
    totalFen,
    payerOpenid: fields.openid,
    paidAt,
    raw,
  };
}

/**
 * Verifies and decodes a v2 refund notification (`WECHAT_PAY_REFUND_NOTIFY_URL`): `<xml>` with
 * return_code, appid, mch_id and `req_info`, no `sign`. Only `req_info` is authenticated (AES-256-ECB
 * under MD5 of the API key): the outer fields are checked but prove nothing, and what the decrypted
 * document says must still match a refund we asked for (the app side checks that).
 */
export async function verifyV2RefundNotification(
  config: AppConfig,
  headers: NotificationHeaders,
  rawBody: Buffer,
): Promise<RefundNotification> {
  const shape = bodyShape(rawBody);
  if (shape === 'json' || (shape !== 'xml' && headerValue(headers, 'wechatpay-signature') !== undefined)) {
    throw new PayNotificationError('wrong_protocol', 'v3 notification sent to a v2 configuration');
  }
  let fields: Record<string, string>;
  try {
    fields = await parseNotificationXml(config, rawBody);
  } catch (err) {
    const why = err instanceof XmlRejectedError ? err.reason : 'unparseable';
    throw new PayNotificationError('malformed', `notification XML rejected (${why})`);
  }
  if (fields.req_info === undefined) throw new PayNotificationError('malformed', 'not a refund notification (no req_info)');
  return decodeV2Refund(config, fields);
}

/** A notification body under the callback caps (docs/limits.md): sized by the body parser, fields counted before parsing. */
function parseNotificationXml(config: AppConfig, rawBody: Buffer): Promise<Record<string, string>> {
  return parseWechatXml(rawBody, config.inbound.callbackBodyLimitBytes, { maxFields: config.inbound.callbackMaxXmlFields });
}

async function decodeV2Refund(config: AppConfig, fields: Record<string, string>): Promise<RefundNotification> {
  if (fields.return_code !== 'SUCCESS') throw new PayNotificationError('return_fail', `return_code ${fields.return_code ?? '(missing)'}`);
  if (fields.appid !== config.wechat.appId || fields.mch_id !== config.pay.mchId) {
    throw new PayNotificationError('wrong_merchant', 'refund notification appid/mch_id is not this merchant');
  }
  let xml: string;
  try {
    xml = decryptV2RefundReqInfo(fields.req_info, config.pay.apiKey);
  } catch (err) {
    throw new PayNotificationError(
      'decrypt_failed',
      `req_info not decrypted (${err instanceof WechatPayCryptoError ? err.code : 'error'})`,
    );
  }
  let info: Record<string, string>;
  try {
    info = await parseWechatXml(xml, 65536, { rootName: 'root' });
  } catch {
    // ECB has no MAC: a garbled block shows up here, as a document that does not parse.
    throw new PayNotificationError('decrypt_failed', 'req_info does not decrypt to a refund document');
  }
  const state = V2_REFUND_STATE[info.refund_status ?? ''];
  const refundFen = parseFen(info.refund_fee);
  const totalFen = parseFen(info.total_fee);
  if (!state || state === 'PROCESSING' || !info.out_refund_no || !info.out_trade_no || refundFen === null || totalFen === null) {
    throw new PayNotificationError(
      'malformed',
      'refund document misses out_refund_no, out_trade_no, refund_fee, total_fee or a final refund_status',
    );
  }
  return {
    kind: 'refund',
    status: state,
    orderNo: info.out_trade_no,
    refundNo: info.out_refund_no,
    wxRefundId: info.refund_id ?? '',
    transactionId: info.transaction_id || undefined,
    refundFen,
    totalFen,
    successAt: parseBillTime(info.success_time ?? '') ?? undefined,
    raw: xml,
  };
}

interface V2Answer {
  fields: Record<string, string>;
  raw: string;
}

interface V2PostOptions {
  /** TLS client certificate agent (`secapi/*`). */
  httpsAgent?: HttpsAgent;
  maxBytes?: number;
}

/**
 * WeChat Pay v2 (XML over HTTPS): `pay/unifiedorder`, `pay/orderquery`, `pay/closeorder`. Every
 * request is signed with the API key in the configured sign type; every answer with return_code
 * SUCCESS must carry a valid `sign` and this merchant's appid/mch_id before any field is used.
 */
export class PayV2Client extends PayClient {
  readonly version = 'v2' as const;
  private readonly logger = new Logger(PayV2Client.name);
  private certAgent: HttpsAgent | undefined;

  constructor(
    private readonly http: HttpService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {
    super();
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
    if (fields.result_code !== 'SUCCESS') throw this.businessError('pay/unifiedorder', fields);
    const prepayId = fields.prepay_id;
    if (!prepayId) throw new PayUnavailableError('pay/unifiedorder: answer without prepay_id');
    return { prepayId, paymentParams: this.jsapiParams(prepayId) };
  }

  jsapiParams(prepayId: string): JsapiPaymentParams {
    const { apiKey, signType } = this.config.pay;
    return buildV2JsapiPaymentParams(this.config.wechat.appId, prepayId, apiKey, signType, String(this.clock.nowSeconds()));
  }

  async queryOrder(orderNo: string): Promise<OrderQueryResult> {
    const { fields, raw } = await this.call('pay/orderquery', { out_trade_no: orderNo });
    if (fields.result_code !== 'SUCCESS') {
      if (fields.err_code === 'ORDERNOTEXIST') return { state: 'NOT_FOUND', raw };
      throw this.businessError('pay/orderquery', fields);
    }
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

  async closeOrder(orderNo: string): Promise<void> {
    const { fields } = await this.call('pay/closeorder', { out_trade_no: orderNo });
    if (fields.result_code === 'SUCCESS' || fields.err_code === 'ORDERCLOSED') return;
    throw this.businessError('pay/closeorder', fields);
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
      { httpsAgent: this.clientCertificateAgent(api) },
    );
    if (fields.result_code !== 'SUCCESS') throw this.businessError(api, fields);
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
    const { fields, raw } = await this.call(api, { out_refund_no: refundNo });
    if (fields.result_code !== 'SUCCESS') {
      if (fields.err_code === 'REFUNDNOTEXIST') return { state: 'NOT_FOUND', refundNo, raw };
      throw this.businessError(api, fields);
    }
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
    const raw = await this.post(api, { bill_date: date.replace(/-/g, ''), bill_type: 'ALL' }, { maxBytes: MAX_BILL_BYTES });
    if (bodyShape(raw) === 'xml') {
      let fields: Record<string, string>;
      try {
        fields = await parseWechatXml(raw, MAX_RESPONSE_BYTES);
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
   * The https Agent carrying the merchant API client certificate (PKCS#12, password = mch id).
   * Over plain HTTP (the sandbox, tests) there is no TLS to authenticate: none is needed.
   */
  private clientCertificateAgent(api: string): HttpsAgent | undefined {
    if (this.certAgent) return this.certAgent;
    const path = this.config.pay.clientCertP12Path;
    const overTls = this.config.pay.base.startsWith('https:');
    if (!path) {
      if (overTls)
        throw new PayApiError('CLIENT_CERT_MISSING', `${api}: needs the merchant API client certificate (WECHAT_PAY_CLIENT_CERT_P12_PATH)`);
      return undefined;
    }
    let pfx: Buffer;
    try {
      pfx = readFileSync(path);
    } catch (err) {
      throw new PayApiError(
        'CLIENT_CERT_UNREADABLE',
        `${api}: client certificate not readable (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    const passphrase = this.config.pay.mchId;
    try {
      createSecureContext({ pfx, passphrase }); // fail here, with a reason, rather than at the handshake
    } catch (err) {
      const reason = /unsupported/i.test((err as Error).message)
        ? 'legacy PKCS#12 encryption (RC2) that OpenSSL 3 refuses: re-export it, e.g. openssl pkcs12 -legacy -in apiclient_cert.p12 -nodes | openssl pkcs12 -export -out apiclient_cert.p12'
        : 'not a PKCS#12 file whose password is the mch id';
      throw new PayApiError('CLIENT_CERT_INVALID', `${api}: client certificate unusable (${reason})`);
    }
    this.certAgent = new HttpsAgent({ pfx, passphrase, keepAlive: true });
    return this.certAgent;
  }

  /** Signs and posts one request; returns the verified answer (result_code is the caller's to judge). */
  private async call(api: string, params: V2Params, options: V2PostOptions = {}): Promise<V2Answer> {
    const { appId } = this.config.wechat;
    const { mchId, apiKey, signType } = this.config.pay;
    const raw = await this.post(api, params, options);

    let fields: Record<string, string>;
    try {
      fields = await parseWechatXml(raw, MAX_RESPONSE_BYTES);
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
    return { fields, raw };
  }

  /** Signs and posts one request; returns the 2xx answer's text (unverified). */
  private async post(api: string, params: V2Params, options: V2PostOptions = {}): Promise<string> {
    const { appId } = this.config.wechat;
    const { mchId, apiKey, signType, base } = this.config.pay;
    const request: V2Params = { appid: appId, mch_id: mchId, nonce_str: randomNonce(32), ...params };
    // MD5 is the default and WeChat's examples omit sign_type for it; HMAC must be declared.
    if (signType === 'HMAC-SHA256') request.sign_type = signType;
    request.sign = v2Sign(request, apiKey, signType);
    const xml = buildXml(xmlFields(request));

    let status: number;
    let raw: string;
    try {
      const res = await firstValueFrom(
        this.http.request<string>({
          method: 'POST',
          url: `${base}/${api}`,
          data: xml,
          headers: { 'Content-Type': 'text/xml; charset=utf-8', Accept: 'text/xml, application/xml, text/plain' },
          responseType: 'text',
          transformRequest: [(d: unknown) => d],
          transformResponse: [(d: unknown) => d],
          timeout: this.http.axiosRef.defaults.timeout || DEFAULT_PAY_TIMEOUT_MS,
          maxRedirects: 0,
          maxContentLength: options.maxBytes ?? MAX_RESPONSE_BYTES,
          validateStatus: () => true,
          ...(options.httpsAgent ? { httpsAgent: options.httpsAgent } : {}),
        }),
      );
      status = res.status;
      raw = typeof res.data === 'string' ? res.data : String(res.data ?? '');
    } catch (err) {
      throw unavailableFrom(api, err);
    }
    if (status < 200 || status >= 300) throw new PayUnavailableError(`${api}: HTTP ${status}`);
    return raw;
  }

  private businessError(api: string, fields: Record<string, string>): Error {
    const code = fields.err_code || 'FAIL';
    const message = `${api}: ${code}${fields.err_code_des ? ` ${fields.err_code_des}` : ''}`;
    // WeChat's "system busy, retry with the same parameters": an outage, not a refusal.
    if (code === 'SYSTEMERROR' || code === 'BIZERR_NEED_RETRY') return new PayUnavailableError(message);
    return new PayApiError(code, message);
  }
}

function xmlFields(params: V2Params): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    out[name] = typeof value === 'number' ? value : String(value);
  }
  return out;
}
