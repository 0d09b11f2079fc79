/**
 * The port the payment module uses for WeChat Pay. `PayV2Client` (XML, MD5/HMAC-SHA256) and
 * `PayV3Client` (JSON, RSA) in client/ implement it; `WechatPayModule` picks one from
 * `WECHAT_PAY_VERSION`. The API calls are in client/, the verification of what WeChat Pay sends us
 * in notify/, the signing and crypto both use in crypto/, WeChat's formats in wire/.
 * Amounts are integer fen, times are Dates; nothing here touches the database.
 */

/** Used when the injected HttpService has no timeout of its own (0 means "wait forever" to axios). */
export const DEFAULT_PAY_TIMEOUT_MS = 5000;

export type PaySignType = 'MD5' | 'HMAC-SHA256' | 'RSA';

/** What the page hands to `WeixinJSBridge.invoke('getBrandWCPayRequest', …)`; every value a string. */
export interface JsapiPaymentParams {
  appId: string;
  /** Unix seconds. */
  timeStamp: string;
  nonceStr: string;
  /** `prepay_id=<id>` */
  package: string;
  signType: PaySignType;
  paySign: string;
}

export interface CreateJsapiOrderInput {
  orderNo: string;
  /** v2 `body` / v3 `description`. */
  description: string;
  amountFen: number;
  payerOpenid: string;
  /** The caller's IP as the trusted proxy reports it (v2 `spbill_create_ip`, v3 `scene_info.payer_client_ip`). */
  payerIp: string;
  notifyUrl: string;
  /** After this WeChat refuses to let the order be paid (v2 `time_expire`, v3 `time_expire`). */
  expireAt: Date;
}

export interface CreatedJsapiOrder {
  prepayId: string;
  paymentParams: JsapiPaymentParams;
}

export type TradeState = 'SUCCESS' | 'NOTPAY' | 'CLOSED' | 'REFUND' | 'USERPAYING' | 'PAYERROR' | 'REVOKED';
export const TRADE_STATES: readonly TradeState[] = ['SUCCESS', 'NOTPAY', 'CLOSED', 'REFUND', 'USERPAYING', 'PAYERROR', 'REVOKED'];

export interface OrderQueryResult {
  /** NOT_FOUND: WeChat Pay has no order under this number (never placed, or placement failed). */
  state: TradeState | 'NOT_FOUND';
  transactionId?: string;
  totalFen?: number;
  payerOpenid?: string;
  paidAt?: Date;
  appId?: string;
  mchId?: string;
  /** The verified response body as received (v2 XML, v3 JSON). */
  raw: string;
}

export interface PaymentNotification {
  kind: 'payment';
  /** false: WeChat reports the payment failed (v2 result_code FAIL); only a pending order may change. */
  success: boolean;
  orderNo: string;
  /** '' / 0 when a failed-payment notification leaves them out. */
  transactionId: string;
  totalFen: number;
  payerOpenid: string;
  paidAt?: Date;
  /** v2: the XML body as received; v3: the decrypted transaction JSON. */
  raw: string;
}

/** WeChat's final word on a refund: v3 REFUND.SUCCESS / REFUND.ABNORMAL / REFUND.CLOSED, v2 SUCCESS / CHANGE / REFUNDCLOSE. */
export type RefundOutcome = 'SUCCESS' | 'ABNORMAL' | 'CLOSED';
/** A refund's state at WeChat Pay; PROCESSING until one of the outcomes. */
export type RefundState = 'PROCESSING' | RefundOutcome;

/** A verified, decrypted refund result notification (v3 on the pay notify URL, v2 on its own URL). */
export interface RefundNotification {
  kind: 'refund';
  status: RefundOutcome;
  orderNo: string;
  refundNo: string;
  /** WeChat's refund id (v2 `refund_id`, v3 `refund_id`). */
  wxRefundId: string;
  transactionId?: string;
  /** What this refund gives back, and the order's total, in fen. */
  refundFen: number;
  totalFen: number;
  successAt?: Date;
  /** v2: the decrypted `req_info` XML; v3: the decrypted refund JSON. */
  raw: string;
}

/** A verified notification that is neither a transaction nor a refund result. */
export interface OtherNotification {
  kind: 'other';
  eventType: string;
}

export type PayNotification = PaymentNotification | RefundNotification | OtherNotification;

export interface RefundInput {
  orderNo: string;
  /** Our refund number (`out_refund_no`): WeChat treats a repeat with the same number as the same refund. */
  refundNo: string;
  /** The order's total and the part given back, in fen. */
  totalFen: number;
  refundFen: number;
  notifyUrl: string;
  /** Shown to the payer (v2 `refund_desc`, v3 `reason`); at most 80 characters are sent. */
  reason?: string;
}

export interface RefundResult {
  /** NOT_FOUND (queries only): WeChat Pay has no refund under this number. */
  state: RefundState | 'NOT_FOUND';
  refundNo: string;
  orderNo?: string;
  wxRefundId?: string;
  refundFen?: number;
  totalFen?: number;
  successAt?: Date;
  /** The verified answer as received. */
  raw: string;
}

/** One line of WeChat Pay's trade bill (`bill_type=ALL`), amounts in fen, time as an instant. */
export interface TradeBillRow {
  tradeTime: Date | null;
  appId: string;
  mchId: string;
  transactionId: string;
  orderNo: string;
  openid: string;
  /** `SUCCESS` for a payment, `REFUND` for a refund line (its refund columns are filled), `REVOKED`… */
  tradeState: string;
  /** The order amount (订单金额, else 应结订单金额). */
  totalFen: number;
  wxRefundId: string;
  refundNo: string;
  /** 0 on payment lines. */
  refundFen: number;
  /** `SUCCESS`, `PROCESSING`, … on refund lines; '' otherwise. */
  refundStatus: string;
}

export type NotificationHeaders = Record<string, string | string[] | undefined>;

export abstract class PayClient {
  abstract readonly version: 'v2' | 'v3';

  /** Places a JSAPI order and returns the signed parameters for the page. */
  abstract createJsapiOrder(input: CreateJsapiOrderInput): Promise<CreatedJsapiOrder>;

  /** Freshly signed page parameters for an order already placed (its prepay_id is valid 2 hours). */
  abstract jsapiParams(prepayId: string): JsapiPaymentParams;

  abstract queryOrder(orderNo: string): Promise<OrderQueryResult>;

  /** Idempotent: an already-closed order is fine. A paid order → PayApiError with code ORDERPAID. */
  abstract closeOrder(orderNo: string): Promise<void>;

  /**
   * Verifies and decodes a payment notification (pure: no database). Throws PayNotificationError
   * with the reason the controller turns into FAIL / 401.
   */
  abstract verifyNotification(headers: NotificationHeaders, rawBody: Buffer): Promise<PayNotification>;

  /**
   * Asks WeChat Pay to refund (part of) a paid order. Idempotent per `refundNo`: the same number
   * again is the same refund. Usually answers PROCESSING; the result comes as a notification.
   * Refusals → PayApiError with WeChat's code; no answer → PayUnavailableError (the refund may or
   * may not exist: retry with the same number).
   */
  abstract refund(input: RefundInput): Promise<RefundResult>;

  /** The refund's state at WeChat Pay (NOT_FOUND when WeChat has no such refund). */
  abstract queryRefund(refundNo: string): Promise<RefundResult>;

  /** The day's trade bill (`YYYY-MM-DD`, Asia/Shanghai), parsed; [] when WeChat has no bill for that day. */
  abstract downloadTradeBill(date: string): Promise<TradeBillRow[]>;

  /**
   * Verifies and decodes a refund notification that arrived on the refund notify URL (v2 `req_info`;
   * a v3 refund event is accepted there too). Pure; throws PayNotificationError.
   */
  abstract verifyRefundNotification(headers: NotificationHeaders, rawBody: Buffer): Promise<RefundNotification>;
}

/** `YYYY-MM-DD` that is a real calendar date. */
export function isBillDate(value: unknown): value is string {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value;
}

/** The refund's reason as sent: one line, at most 80 characters (WeChat's limit). */
export function refundReason(reason: string | undefined): string | undefined {
  // eslint-disable-next-line no-control-regex -- control characters are what this line removes
  const text = (reason ?? '').replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return text ? [...text].slice(0, 80).join('') : undefined;
}

export function isTradeState(value: unknown): value is TradeState {
  return typeof value === 'string' && (TRADE_STATES as readonly string[]).includes(value);
}
