import { createHash, KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { HttpService } from '@nestjs/axios';
import { Logger } from '@nestjs/common';
import { firstValueFrom } from 'rxjs';
import { Clock } from '../../common/clock';
import { toIsoShanghai } from '../../common/time-format';
import { AppConfig } from '../../config/app-config';
import { WechatPayCryptoError } from '../errors';
import { randomNonce } from '../nonce';
import { aesGcmDecrypt } from './aes-gcm';
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
  RefundOutcome,
  RefundResult,
  RefundState,
  isBillDate,
  refundReason,
  TradeBillRow,
} from './pay.client';
import { PayApiError, PayNotificationError, PayResponseSignatureError, PayUnavailableError, unavailableFrom } from './pay-errors';
import { parseTradeBill, TradeBillFormatError } from './trade-bill';
import { PlatformCertificates, V3RawResponse, V3Transport } from './platform-certificates';
import { buildJsapiPayParams, buildV3Authorization, rsaPrivateKey } from './v3-sign';
import { V3VerifyFailure } from './v3-verifier';

const MAX_RESPONSE_BYTES = 1024 * 1024;
/** A busy merchant's day of trade lines (the file behind `download_url`). */
const MAX_BILL_BYTES = 64 * 1024 * 1024;

const REFUND_STATES: readonly RefundState[] = ['PROCESSING', 'SUCCESS', 'ABNORMAL', 'CLOSED'];
const REFUND_EVENTS: Record<string, RefundOutcome> = {
  'REFUND.SUCCESS': 'SUCCESS',
  'REFUND.ABNORMAL': 'ABNORMAL',
  'REFUND.CLOSED': 'CLOSED',
};

/** RFC 3339 with +08:00 and no fraction, as WeChat writes and expects (`time_expire`). */
export function formatV3Time(date: Date): string {
  return toIsoShanghai(date) as string;
}

/** RFC 3339 (`success_time`, `create_time`) → Date; null for anything not a real time. */
export function parseV3Time(value: string | undefined): Date | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i.exec(value ?? '');
  if (!match) return null;
  const [, y, mo, d, h, mi, s, fraction, zone] = match;
  const base = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s);
  const check = new Date(base);
  // Date.UTC rolls invalid fields over (Feb 30 → Mar 2); insist on the fields as written.
  if (check.getUTCFullYear() !== +y || check.getUTCMonth() !== +mo - 1 || check.getUTCDate() !== +d || +h > 23 || +mi > 59 || +s > 59)
    return null;
  let offsetMinutes = 0;
  if (zone.toUpperCase() !== 'Z') {
    const [oh, om] = zone.slice(1).split(':').map(Number);
    if (oh > 23 || om > 59) return null;
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const ms = fraction ? Math.floor(Number(`0${fraction}`) * 1000) : 0;
  return new Date(base - offsetMinutes * 60_000 + ms);
}

/**
 * Signs and sends APIv3 requests, returning the raw answer (bytes untouched, for the signature).
 * The merchant private key is read on first use: in sandbox mode the file may appear after boot.
 */
export class V3HttpTransport implements V3Transport {
  private privateKey: KeyObject | null = null;

  constructor(
    private readonly http: HttpService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  merchantPrivateKey(): KeyObject {
    if (this.privateKey) return this.privateKey;
    const path = this.config.pay.privateKeyPath;
    if (!path) throw new PayUnavailableError('merchant private key not configured (WECHAT_PAY_PRIVATE_KEY_PATH)');
    let pem: string;
    try {
      pem = readFileSync(path, 'utf8');
    } catch (err) {
      throw new PayUnavailableError(`merchant private key not readable (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    try {
      this.privateKey = rsaPrivateKey(pem);
    } catch {
      throw new PayUnavailableError('merchant private key is not an RSA private key in PEM');
    }
    return this.privateKey;
  }

  send(api: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<V3RawResponse> {
    return this.sendTo(api, method, `${this.config.pay.base}${path}`, body);
  }

  /** A signed GET of an absolute URL WeChat handed out (the bill's `download_url`); the answer is not signed. */
  download(api: string, url: string): Promise<V3RawResponse> {
    return this.sendTo(api, 'GET', url, undefined, MAX_BILL_BYTES);
  }

  private async sendTo(
    api: string,
    method: 'GET' | 'POST',
    url: string,
    body?: unknown,
    maxBytes = MAX_RESPONSE_BYTES,
  ): Promise<V3RawResponse> {
    const { mchId, certSerial } = this.config.pay;
    // The signed path is the one on the wire, base path included (the sandbox is mounted under a prefix).
    const parsed = new URL(url);
    const bodyText = body === undefined ? '' : JSON.stringify(body);
    const authorization = buildV3Authorization({
      mchid: mchId,
      serialNo: certSerial,
      privateKey: this.merchantPrivateKey(),
      method,
      pathWithQuery: parsed.pathname + parsed.search,
      body: bodyText,
      timestamp: this.clock.nowSeconds(),
    });
    const headers: Record<string, string> = {
      Authorization: authorization,
      Accept: 'application/json',
      // WeChat Pay refuses APIv3 requests without a User-Agent.
      'User-Agent': `image-classifier-wechat/${this.config.version} node/${process.versions.node}`,
    };
    if (body !== undefined) headers['Content-Type'] = 'application/json; charset=utf-8';
    try {
      const res = await firstValueFrom(
        this.http.request<ArrayBuffer | Buffer>({
          method,
          url,
          data: body === undefined ? undefined : bodyText,
          headers,
          responseType: 'arraybuffer',
          transformRequest: [(d: unknown) => d],
          transformResponse: [(d: unknown) => d],
          timeout: this.http.axiosRef.defaults.timeout || DEFAULT_PAY_TIMEOUT_MS,
          maxRedirects: 0,
          maxContentLength: maxBytes,
          validateStatus: () => true,
        }),
      );
      return { status: res.status, headers: plainHeaders(res.headers), body: toBuffer(res.data) };
    } catch (err) {
      throw unavailableFrom(api, err);
    }
  }
}

interface V3Answer {
  status: number;
  /** The answer's signature was verified (always for 2xx; for 4xx only when WeChat signed it). */
  signed: boolean;
  json: Record<string, unknown> | null;
  raw: string;
}

/**
 * WeChat Pay APIv3 (JSON, `WECHATPAY2-SHA256-RSA2048`): JSAPI order, query, close. Every answer's
 * `Wechatpay-Signature` is verified (2xx always; errors whenever they carry one) before any field
 * is used, with the key named by `Wechatpay-Serial` (public key or platform certificate).
 */
export class PayV3Client extends PayClient {
  readonly version = 'v3' as const;
  readonly certificates: PlatformCertificates;
  private readonly transport: V3HttpTransport;
  private readonly logger = new Logger(PayV3Client.name);

  constructor(
    http: HttpService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    certificates?: PlatformCertificates,
  ) {
    super();
    this.transport = new V3HttpTransport(http, config, clock);
    this.certificates = certificates ?? new PlatformCertificates(this.transport, config, clock);
  }

  async createJsapiOrder(input: CreateJsapiOrderInput): Promise<CreatedJsapiOrder> {
    if (!Number.isSafeInteger(input.amountFen) || input.amountFen <= 0) throw new TypeError('amountFen must be a positive integer');
    const api = 'v3/pay/transactions/jsapi';
    const { appId } = this.config.wechat;
    const answer = await this.call(api, 'POST', '/v3/pay/transactions/jsapi', {
      appid: appId,
      mchid: this.config.pay.mchId,
      description: input.description,
      out_trade_no: input.orderNo,
      time_expire: formatV3Time(input.expireAt),
      notify_url: input.notifyUrl,
      amount: { total: input.amountFen, currency: 'CNY' },
      payer: { openid: input.payerOpenid },
      scene_info: { payer_client_ip: input.payerIp },
    });
    if (answer.status >= 400) throw apiError(api, answer);
    const prepayId = answer.json?.prepay_id;
    if (typeof prepayId !== 'string' || !prepayId) throw new PayUnavailableError(`${api}: answer without prepay_id`);
    return { prepayId, paymentParams: this.jsapiParams(prepayId) };
  }

  jsapiParams(prepayId: string): JsapiPaymentParams {
    return buildJsapiPayParams(
      this.config.wechat.appId,
      prepayId,
      this.transport.merchantPrivateKey(),
      randomNonce(32),
      String(this.clock.nowSeconds()),
    );
  }

  async queryOrder(orderNo: string): Promise<OrderQueryResult> {
    const api = 'v3/pay/transactions/out-trade-no';
    const path = `/v3/pay/transactions/out-trade-no/${encodeURIComponent(orderNo)}?mchid=${encodeURIComponent(this.config.pay.mchId)}`;
    const answer = await this.call(api, 'GET', path);
    // Only WeChat's own signed word counts: a bare 404 (a wrong base URL, a proxy) is an error, not "no order".
    if (answer.status === 404 && answer.signed && answer.json?.code === 'ORDER_NOT_EXIST') return { state: 'NOT_FOUND', raw: answer.raw };
    if (answer.status >= 400) throw apiError(api, answer);
    const tx = answer.json ?? {};
    if (!isTradeState(tx.trade_state)) throw new PayUnavailableError(`${api}: unknown trade_state ${shown(tx.trade_state)}`);
    const amount = (tx.amount ?? {}) as Record<string, unknown>;
    const payer = (tx.payer ?? {}) as Record<string, unknown>;
    return {
      state: tx.trade_state,
      transactionId: str(tx.transaction_id),
      totalFen: parseFen(amount.total) ?? undefined,
      payerOpenid: str(payer.openid),
      paidAt: tx.trade_state === 'SUCCESS' ? (parseV3Time(str(tx.success_time)) ?? undefined) : undefined,
      appId: str(tx.appid),
      mchId: str(tx.mchid),
      raw: answer.raw,
    };
  }

  async closeOrder(orderNo: string): Promise<void> {
    const api = 'v3/pay/transactions/out-trade-no/close';
    const answer = await this.call(api, 'POST', `/v3/pay/transactions/out-trade-no/${encodeURIComponent(orderNo)}/close`, {
      mchid: this.config.pay.mchId,
    });
    if (answer.status < 300) return;
    const code = answer.json?.code;
    if (answer.signed && code === 'ORDER_CLOSED') return;
    if (code === 'ORDERPAID' || code === 'ORDER_PAID')
      throw new PayApiError(
        'ORDERPAID',
        `${api}: ${typeof answer.json?.message === 'string' ? answer.json.message : 'order already paid'}`,
        answer.status,
      );
    throw apiError(api, answer);
  }

  async verifyNotification(headers: NotificationHeaders, rawBody: Buffer): Promise<PayNotification> {
    if (bodyShape(rawBody) === 'xml') throw new PayNotificationError('wrong_protocol', 'v2 notification sent to a v3 configuration');
    const result = await this.certificates.verifyNotification({
      timestamp: headerValue(headers, 'wechatpay-timestamp') ?? '',
      nonce: headerValue(headers, 'wechatpay-nonce') ?? '',
      signature: headerValue(headers, 'wechatpay-signature') ?? '',
      serial: headerValue(headers, 'wechatpay-serial') ?? '',
      body: rawBody,
    });
    if (!result.ok) throw new PayNotificationError(NOTIFY_FAILURE[result.reason], `notification signature refused (${result.reason})`);

    const envelope = parseObject(rawBody.toString('utf8'));
    const resource = envelope?.resource as Record<string, unknown> | undefined;
    const eventType = envelope?.event_type;
    if (!envelope || typeof eventType !== 'string' || typeof resource !== 'object' || resource === null) {
      throw new PayNotificationError('malformed', 'notification without event_type or resource');
    }
    let plaintext: string;
    try {
      if (resource.algorithm !== 'AEAD_AES_256_GCM') throw new WechatPayCryptoError('invalid_input', 'unsupported algorithm');
      plaintext = aesGcmDecrypt({
        key: this.config.pay.apiV3Key,
        nonce: typeof resource.nonce === 'string' ? resource.nonce : '',
        associatedData: typeof resource.associated_data === 'string' ? resource.associated_data : '',
        ciphertext: typeof resource.ciphertext === 'string' ? resource.ciphertext : '',
      });
    } catch (err) {
      const why = err instanceof WechatPayCryptoError ? err.code : 'error';
      if (why === 'invalid_key') this.logger.error('WECHAT_PAY_API_V3_KEY is not 32 bytes: v3 notifications cannot be decrypted');
      throw new PayNotificationError('decrypt_failed', `notification resource not decrypted (${why})`);
    }
    const data = parseObject(plaintext);
    if (!data) throw new PayNotificationError('malformed', 'decrypted resource is not a JSON object');
    // Every resource names its merchant (refunds carry mchid but no appid): another merchant's is refused.
    if (data.mchid !== undefined && data.mchid !== this.config.pay.mchId) {
      throw new PayNotificationError('wrong_merchant', 'notification mchid is not this merchant');
    }
    const refundOutcome = REFUND_EVENTS[eventType];
    if (refundOutcome) return this.refundNotification(refundOutcome, data, plaintext);
    if (eventType !== 'TRANSACTION.SUCCESS') return { kind: 'other', eventType };

    if (data.appid !== this.config.wechat.appId || data.mchid !== this.config.pay.mchId) {
      throw new PayNotificationError('wrong_merchant', 'notification appid/mchid is not this merchant');
    }
    const orderNo = str(data.out_trade_no);
    const transactionId = str(data.transaction_id);
    const totalFen = parseFen(((data.amount ?? {}) as Record<string, unknown>).total);
    const payerOpenid = str(((data.payer ?? {}) as Record<string, unknown>).openid);
    if (!orderNo || !transactionId || totalFen === null || !payerOpenid) {
      throw new PayNotificationError('malformed', 'transaction misses out_trade_no, transaction_id, amount.total or payer.openid');
    }
    return {
      kind: 'payment',
      success: data.trade_state === 'SUCCESS',
      orderNo,
      transactionId,
      totalFen,
      payerOpenid,
      paidAt: parseV3Time(str(data.success_time)) ?? undefined,
      raw: plaintext,
    };
  }

  async verifyRefundNotification(headers: NotificationHeaders, rawBody: Buffer): Promise<RefundNotification> {
    const n = await this.verifyNotification(headers, rawBody);
    if (n.kind !== 'refund') throw new PayNotificationError('malformed', 'not a refund notification');
    return n;
  }

  /** `POST /v3/refund/domestic/refunds`; `status` in the answer is usually PROCESSING, sometimes already SUCCESS. */
  async refund(input: RefundInput): Promise<RefundResult> {
    const api = 'v3/refund/domestic/refunds';
    if (!Number.isSafeInteger(input.refundFen) || input.refundFen <= 0 || input.refundFen > input.totalFen) {
      throw new TypeError('refundFen must be a positive integer not above totalFen');
    }
    const body: Record<string, unknown> = {
      out_trade_no: input.orderNo,
      out_refund_no: input.refundNo,
      notify_url: input.notifyUrl,
      amount: { refund: input.refundFen, total: input.totalFen, currency: 'CNY' },
    };
    const reason = refundReason(input.reason);
    if (reason) body.reason = reason;
    const answer = await this.call(api, 'POST', '/v3/refund/domestic/refunds', body);
    if (answer.status >= 400) throw apiError(api, answer);
    return this.refundResult(api, answer, input.refundNo);
  }

  async queryRefund(refundNo: string): Promise<RefundResult> {
    const api = 'v3/refund/domestic/refunds/{out_refund_no}';
    const answer = await this.call(api, 'GET', `/v3/refund/domestic/refunds/${encodeURIComponent(refundNo)}`);
    if (answer.status === 404 && answer.signed && answer.json?.code === 'RESOURCE_NOT_EXISTS')
      return { state: 'NOT_FOUND', refundNo, raw: answer.raw };
    if (answer.status >= 400) throw apiError(api, answer);
    return this.refundResult(api, answer, refundNo);
  }

  /**
   * `GET /v3/bill/tradebill?bill_date=&bill_type=ALL&tar_type=GZIP` (signed answer: download_url
   * and the SHA1 of the bill), then the signed GET of `download_url` (the file itself is not
   * signed: its hash is checked instead). NO_STATEMENT_EXIST = no transaction that day.
   */
  async downloadTradeBill(date: string): Promise<TradeBillRow[]> {
    const api = 'v3/bill/tradebill';
    if (!isBillDate(date)) throw new TypeError('date must be YYYY-MM-DD');
    const answer = await this.call(api, 'GET', `/v3/bill/tradebill?bill_date=${date}&bill_type=ALL&tar_type=GZIP`);
    if (answer.status >= 400) {
      if (answer.signed && answer.json?.code === 'NO_STATEMENT_EXIST') return [];
      if (answer.json?.code === 'STATEMENT_CREATING') throw new PayUnavailableError(`${api}: the bill is still being generated`);
      throw apiError(api, answer);
    }
    const downloadUrl = str(answer.json?.download_url);
    const hashType = str(answer.json?.hash_type);
    const hashValue = str(answer.json?.hash_value);
    if (!downloadUrl || !URL.canParse(downloadUrl)) throw new PayUnavailableError(`${api}: answer without download_url`);
    // Our Authorization goes only to WeChat Pay's own host, whatever a (signed) answer names.
    if (new URL(downloadUrl).origin !== new URL(this.config.pay.base).origin) {
      throw new PayResponseSignatureError(`${api}: download_url is not on the WeChat Pay host`);
    }
    const file = await this.transport.download('v3/billdownload/file', downloadUrl);
    if (file.status !== 200) {
      const code = parseObject(file.body.toString('utf8'))?.code;
      throw new PayUnavailableError(`v3/billdownload/file: HTTP ${file.status}${typeof code === 'string' ? ` ${code}` : ''}`);
    }
    let bytes = file.body;
    if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
      try {
        bytes = gunzipSync(bytes, { maxOutputLength: MAX_BILL_BYTES });
      } catch {
        throw new PayUnavailableError('v3/billdownload/file: gzip data unreadable');
      }
    }
    if (hashType && hashValue) {
      if (hashType.toUpperCase() !== 'SHA1') throw new PayUnavailableError(`${api}: unsupported hash_type ${hashType}`);
      if (createHash('sha1').update(bytes).digest('hex') !== hashValue.toLowerCase()) {
        throw new PayUnavailableError('v3/billdownload/file: the bill does not match its hash_value');
      }
    }
    try {
      return parseTradeBill(bytes.toString('utf8'));
    } catch (err) {
      if (err instanceof TradeBillFormatError) throw new PayUnavailableError(`v3/billdownload/file: ${err.message}`);
      throw err;
    }
  }

  private refundResult(api: string, answer: V3Answer, refundNo: string): RefundResult {
    const r = answer.json ?? {};
    const status = r.status;
    if (typeof status !== 'string' || !(REFUND_STATES as readonly string[]).includes(status)) {
      throw new PayUnavailableError(`${api}: unknown refund status ${shown(status)}`);
    }
    const amount = (r.amount ?? {}) as Record<string, unknown>;
    return {
      state: status as RefundState,
      refundNo: str(r.out_refund_no) ?? refundNo,
      orderNo: str(r.out_trade_no),
      wxRefundId: str(r.refund_id),
      refundFen: parseFen(amount.refund) ?? undefined,
      totalFen: parseFen(amount.total) ?? undefined,
      successAt: parseV3Time(str(r.success_time)) ?? undefined,
      raw: answer.raw,
    };
  }

  /** The decrypted `refund` resource of a REFUND.* event; its mchid must be ours. */
  private refundNotification(status: RefundOutcome, data: Record<string, unknown>, plaintext: string): RefundNotification {
    if (data.mchid !== this.config.pay.mchId)
      throw new PayNotificationError('wrong_merchant', 'refund notification mchid is not this merchant');
    const amount = (data.amount ?? {}) as Record<string, unknown>;
    const orderNo = str(data.out_trade_no);
    const refundNo = str(data.out_refund_no);
    const refundFen = parseFen(amount.refund);
    const totalFen = parseFen(amount.total);
    if (!orderNo || !refundNo || refundFen === null || totalFen === null) {
      throw new PayNotificationError('malformed', 'refund misses out_trade_no, out_refund_no, amount.refund or amount.total');
    }
    if (data.refund_status !== undefined && data.refund_status !== status) {
      throw new PayNotificationError('malformed', 'refund_status contradicts the event type');
    }
    return {
      kind: 'refund',
      status,
      orderNo,
      refundNo,
      wxRefundId: str(data.refund_id) ?? '',
      transactionId: str(data.transaction_id),
      refundFen,
      totalFen,
      successAt: parseV3Time(str(data.success_time)) ?? undefined,
      raw: plaintext,
    };
  }

  /**
   * One request. 5xx, redirects and transport failures → PayUnavailableError; 2xx must be signed
   * correctly, and so must a 4xx that carries a signature; 4xx answers are returned for the caller
   * to map (some, like ORDER_CLOSED on close, are not failures).
   */
  private async call(api: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<V3Answer> {
    const res = await this.transport.send(api, method, path, body);
    const raw = res.body.toString('utf8');
    if (res.status >= 500 || res.status < 200 || (res.status >= 300 && res.status < 400)) {
      const code = parseObject(raw)?.code;
      throw new PayUnavailableError(`${api}: HTTP ${res.status}${typeof code === 'string' ? ` ${code}` : ''}`);
    }
    const signed = res.status < 300 || res.headers['wechatpay-signature'] !== undefined;
    if (signed) await this.certificates.verifyResponse(api, res);
    const json = raw === '' ? null : parseObject(raw);
    if (raw !== '' && !json && res.status < 300) throw new PayUnavailableError(`${api}: unreadable answer`);
    return { status: res.status, signed, json, raw };
  }
}

const NOTIFY_FAILURE: Record<V3VerifyFailure, PayNotificationError['reason']> = {
  malformed: 'malformed',
  signtest_probe: 'signtest_probe',
  stale_timestamp: 'stale_timestamp',
  unknown_serial: 'bad_signature',
  certificate_expired: 'bad_signature',
  bad_signature: 'bad_signature',
};

function apiError(api: string, answer: V3Answer): PayApiError {
  const code = typeof answer.json?.code === 'string' ? answer.json.code : `HTTP_${answer.status}`;
  const message = typeof answer.json?.message === 'string' ? answer.json.message : '';
  return new PayApiError(code, `${api}: ${code}${message ? ` ${message}` : ''}`, answer.status);
}

/** A JSON value our error messages name when it is not what WeChat documents. */
function shown(value: unknown): string {
  if (value === undefined || value === null) return '(missing)';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function plainHeaders(headers: unknown): Record<string, string> {
  const source = (headers as { toJSON?: () => Record<string, unknown> })?.toJSON?.() ?? (headers as Record<string, unknown>) ?? {};
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(source)) {
    if (typeof value === 'string') out[name.toLowerCase()] = value;
    else if (typeof value === 'number') out[name.toLowerCase()] = String(value);
    else if (Array.isArray(value) && value.length === 1) out[name.toLowerCase()] = String(value[0]);
  }
  return out;
}

function toBuffer(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  return Buffer.alloc(0);
}
