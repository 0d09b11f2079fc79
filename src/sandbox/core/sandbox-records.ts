import type { V2SignType } from '../../wechat/pay/crypto/v2-sign';

/** What the simulator remembers (in memory, in SandboxStore): tokens, codes, tickets, orders, refunds, users, deliveries. */

export interface IssuedToken {
  kind: 'normal' | 'stable';
  issuedAt: number;
  /** Natural end of life (ms): afterwards 42001. */
  expiresAt: number;
  /** Superseded or revoked: from this instant 40001. */
  invalidAfter?: number;
}

export interface OAuthCode {
  openid: string;
  scope: string;
  expiresAt: number;
  usedAt?: number;
}

export interface QrTicket {
  ticket: string;
  actionName: 'QR_SCENE' | 'QR_STR_SCENE' | 'QR_LIMIT_SCENE' | 'QR_LIMIT_STR_SCENE';
  sceneId?: number;
  sceneStr?: string;
  expireSeconds?: number;
  /** ms; null for permanent codes. */
  expiresAt: number | null;
  url: string;
  createdAt: number;
}

export type TradeState = 'NOTPAY' | 'SUCCESS' | 'CLOSED' | 'PAYERROR';

export interface SandboxOrder {
  version: 'v2' | 'v3';
  appid: string;
  mchid: string;
  outTradeNo: string;
  prepayId: string;
  description: string;
  totalFen: number;
  currency: string;
  openid: string;
  notifyUrl: string;
  attach: string;
  tradeType: string;
  /** v2: the sign type of the placing request, used for its notification too. */
  signType: V2SignType;
  /** What a repeated placement must match to get the same prepay_id back. */
  fingerprint: string;
  state: TradeState;
  transactionId?: string;
  paidAt?: number;
  createdAt: number;
  expiresAt: number;
}

/** WeChat's refund states; v2 names CLOSED `REFUNDCLOSE` and ABNORMAL `CHANGE`. */
export type RefundState = 'PROCESSING' | 'SUCCESS' | 'CLOSED' | 'ABNORMAL';

export interface SandboxRefund {
  version: 'v2' | 'v3';
  outRefundNo: string;
  outTradeNo: string;
  refundId: string;
  transactionId: string;
  refundFen: number;
  totalFen: number;
  reason: string;
  /** '' = none given: no notification is sent (WeChat would use the console's default URL). */
  notifyUrl: string;
  /** v2: the sign type of the request (answers are signed with it). */
  signType: V2SignType;
  state: RefundState;
  createdAt: number;
  successAt?: number;
}

export interface SandboxUser {
  openid: string;
  subscribed: boolean;
  subscribedAt?: number;
  firstSeen: number;
  lastSeen: number;
  via: string;
}

export interface DeliveryAttempt {
  at: number;
  ok: boolean;
  status?: number;
  /** The app's answer, truncated. */
  answer?: string;
  error?: string;
}

export type DeliveryKind = 'pay_v2' | 'pay_v3' | 'refund_v2' | 'refund_v3' | 'push' | 'verify';
export type DeliveryState = 'scheduled' | 'pending' | 'delivered' | 'failed' | 'gave_up' | 'dropped' | 'cancelled' | 'not_sent';

/** One notification or push (with its retries), as the home page and tests see it. */
export interface DeliveryRecord {
  id: string;
  kind: DeliveryKind;
  target: string;
  summary: string;
  state: DeliveryState;
  attempts: DeliveryAttempt[];
  createdAt: number;
}

/** A generated v3 bill file behind its `download_url` token. */
export interface BillFile {
  bytes: Buffer;
  gzip: boolean;
  expiresAt: number;
}
