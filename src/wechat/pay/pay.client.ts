/**
 * The port the payment module uses for WeChat Pay. `PayV2Client` (XML, MD5/HMAC-SHA256) and
 * `PayV3Client` (JSON, RSA) implement it; `WechatPayModule` picks one from `WECHAT_PAY_VERSION`.
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

/** A verified notification that is not a transaction result (v3 refund events and the like). */
export interface OtherNotification {
  kind: 'other';
  eventType: string;
}

export type PayNotification = PaymentNotification | OtherNotification;

export type NotificationHeaders = Record<string, string | string[] | undefined>;

export abstract class PayClient {
  abstract readonly version: 'v2' | 'v3';

  /** Places a JSAPI order and returns the signed parameters for the page. */
  abstract createJsapiOrder(input: CreateJsapiOrderInput): Promise<CreatedJsapiOrder>;

  abstract queryOrder(orderNo: string): Promise<OrderQueryResult>;

  /** Idempotent: an already-closed order is fine. A paid order → PayApiError with code ORDERPAID. */
  abstract closeOrder(orderNo: string): Promise<void>;

  /**
   * Verifies and decodes a payment notification (pure: no database). Throws PayNotificationError
   * with the reason the controller turns into FAIL / 401.
   */
  abstract verifyNotification(headers: NotificationHeaders, rawBody: Buffer): Promise<PayNotification>;
}

/**
 * A header by name, case-insensitively. A header sent twice (array of several) is ambiguous and
 * counts as absent: picking one copy would let a request say two things.
 */
export function headerValue(headers: NotificationHeaders | Record<string, unknown>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  let found: string | undefined;
  let count = 0;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted || value === undefined || value === null) continue;
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) {
      count++;
      found = String(v);
    }
  }
  return count === 1 ? found : undefined;
}

/** The first significant character of a body: '<' for XML (v2), '{' for JSON (v3). */
export function bodyShape(rawBody: Buffer | string): 'xml' | 'json' | 'other' {
  const text = (typeof rawBody === 'string' ? rawBody : rawBody.subarray(0, 64).toString('utf8')).replace(/^\uFEFF/, '').trimStart();
  if (text.startsWith('<')) return 'xml';
  if (text.startsWith('{') || text.startsWith('[')) return 'json';
  return 'other';
}

/** Non-negative integer fen from WeChat's string or number; null otherwise. */
export function parseFen(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : null;
  if (typeof value === 'string' && /^[0-9]{1,15}$/.test(value)) return Number(value);
  return null;
}

export function isTradeState(value: unknown): value is TradeState {
  return typeof value === 'string' && (TRADE_STATES as readonly string[]).includes(value);
}
