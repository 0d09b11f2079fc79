import { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
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
  NotificationHeaders,
  OrderQueryResult,
  parseFen,
  PayClient,
  PayNotification,
} from './pay.client';
import { PayApiError, PayNotificationError, PayUnavailableError, unavailableFrom } from './pay-errors';
import { PlatformCertificates, V3RawResponse, V3Transport } from './platform-certificates';
import { buildJsapiPayParams, buildV3Authorization, rsaPrivateKey } from './v3-sign';
import { V3VerifyFailure } from './v3-verifier';

const MAX_RESPONSE_BYTES = 1024 * 1024;

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
  if (check.getUTCFullYear() !== +y || check.getUTCMonth() !== +mo - 1 || check.getUTCDate() !== +d || +h > 23 || +mi > 59 || +s > 59) return null;
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

  async send(api: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<V3RawResponse> {
    const { base, mchId, certSerial } = this.config.pay;
    const url = `${base}${path}`;
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
          maxContentLength: MAX_RESPONSE_BYTES,
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
    const paymentParams = buildJsapiPayParams(appId, prepayId, this.transport.merchantPrivateKey(), randomNonce(32), String(this.clock.nowSeconds()));
    return { prepayId, paymentParams };
  }

  async queryOrder(orderNo: string): Promise<OrderQueryResult> {
    const api = 'v3/pay/transactions/out-trade-no';
    const path = `/v3/pay/transactions/out-trade-no/${encodeURIComponent(orderNo)}?mchid=${encodeURIComponent(this.config.pay.mchId)}`;
    const answer = await this.call(api, 'GET', path);
    // Only WeChat's own signed word counts: a bare 404 (a wrong base URL, a proxy) is an error, not "no order".
    if (answer.status === 404 && answer.signed && answer.json?.code === 'ORDER_NOT_EXIST') return { state: 'NOT_FOUND', raw: answer.raw };
    if (answer.status >= 400) throw apiError(api, answer);
    const tx = answer.json ?? {};
    if (!isTradeState(tx.trade_state)) throw new PayUnavailableError(`${api}: unknown trade_state ${String(tx.trade_state ?? '(missing)')}`);
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
    const answer = await this.call(api, 'POST', `/v3/pay/transactions/out-trade-no/${encodeURIComponent(orderNo)}/close`, { mchid: this.config.pay.mchId });
    if (answer.status < 300) return;
    const code = answer.json?.code;
    if (answer.signed && code === 'ORDER_CLOSED') return;
    if (code === 'ORDERPAID' || code === 'ORDER_PAID') throw new PayApiError('ORDERPAID', `${api}: ${String(answer.json?.message ?? 'order already paid')}`, answer.status);
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
        nonce: String(resource.nonce ?? ''),
        associatedData: typeof resource.associated_data === 'string' ? resource.associated_data : '',
        ciphertext: String(resource.ciphertext ?? ''),
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
