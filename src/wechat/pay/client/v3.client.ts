import { HttpService } from '@nestjs/axios';
import { Logger } from '@nestjs/common';
import { Clock } from '../../../common/clock';
import { AppConfig } from '../../../config/app-config';
import { randomNonce } from '../../nonce';
import { buildJsapiPayParams } from '../crypto/v3-sign';
import { PlatformCertificates } from '../notify/platform-certificates';
import { V3NotificationVerifier } from '../notify/v3-notification';
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
  RefundState,
  refundReason,
  TradeBillRow,
} from '../pay.client';
import { PayApiError, PayResponseSignatureError, PayUnavailableError } from '../pay-errors';
import { parseFen, parseObject, shown, str } from '../wire/fields';
import { formatV3Time, parseV3Time } from '../wire/times';
import { readV3BillFile } from './v3-bill-file';
import { V3HttpTransport } from './v3-transport';

const REFUND_STATES: readonly RefundState[] = ['PROCESSING', 'SUCCESS', 'ABNORMAL', 'CLOSED'];

interface V3Answer {
  status: number;
  /** The answer's signature was verified (always for 2xx; for 4xx only when WeChat signed it). */
  signed: boolean;
  json: Record<string, unknown> | null;
  raw: string;
}

/**
 * WeChat Pay APIv3 (JSON, `WECHATPAY2-SHA256-RSA2048`): JSAPI order, query, close, refunds, trade
 * bills. Requests are signed by V3HttpTransport; every answer's `Wechatpay-Signature` is verified
 * (2xx always; errors whenever they carry one) before any field is used, with the key named by
 * `Wechatpay-Serial` (public key or platform certificate, `certificates`). Notifications are
 * verified by notify/v3-notification.ts with the same keys.
 */
export class PayV3Client extends PayClient {
  readonly version = 'v3' as const;
  readonly certificates: PlatformCertificates;
  private readonly transport: V3HttpTransport;
  private readonly notifications: V3NotificationVerifier;
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
    this.notifications = new V3NotificationVerifier(config, this.certificates, this.logger);
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

  verifyNotification(headers: NotificationHeaders, rawBody: Buffer): Promise<PayNotification> {
    return this.notifications.verify(headers, rawBody);
  }

  verifyRefundNotification(headers: NotificationHeaders, rawBody: Buffer): Promise<RefundNotification> {
    return this.notifications.verifyRefund(headers, rawBody);
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
    return readV3BillFile(file.body, hashType, hashValue);
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

function apiError(api: string, answer: V3Answer): PayApiError {
  const code = typeof answer.json?.code === 'string' ? answer.json.code : `HTTP_${answer.status}`;
  const message = typeof answer.json?.message === 'string' ? answer.json.message : '';
  return new PayApiError(code, `${api}: ${code}${message ? ` ${message}` : ''}`, answer.status);
}
