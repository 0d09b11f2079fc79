import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import type { V2SignType } from '../wechat/pay/crypto/v2-sign';
import { assertSandboxAllowed, DEFAULT_SLOW_MS } from './sandbox.constants';

export type PushMode = 'plain' | 'compatible' | 'safe';

/** Fault knobs (`POST /sandbox/faults`). */
export interface SandboxFaults {
  /** `40001-once`: the next API call with a valid token gets 40001 and the token dies. `down`: the token endpoints drop the connection. */
  token: '40001-once' | 'down' | null;
  /** `down`: every `/sandbox/api/*` endpoint drops the connection. */
  api: 'down' | null;
  /** Every `/sandbox/pay/*` endpoint: drop the connection, answer after `slow_ms`, or sign answers and notifications wrongly. */
  pay: 'down' | 'slow' | 'bad_signature' | null;
  /** `drop`: pay and refund notifications are never sent (recorded as dropped). */
  notify: 'drop' | null;
  /** `auto`: a refund succeeds shortly after it is asked for and is notified; `manual`: it stays PROCESSING until `POST /sandbox/actions/refund`. */
  refund: 'auto' | 'manual';
  /** Which id goes into `Wechatpay-Serial`: the public key id (default) or the platform certificate serial. */
  v3_serial: 'public_key' | 'certificate';
  push_mode: PushMode;
  slow_ms: number;
}

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

export const STAT_NAMES = [
  'token_fetches',
  'stable_token_fetches',
  'token_errors',
  'api_calls',
  'api_errors',
  'oauth_codes_issued',
  'oauth_exchanges',
  'qrcodes_created',
  'menu_creates',
  'pushes_sent',
  'pay_requests_v2',
  'pay_requests_v3',
  'pay_auth_failures',
  'orders_placed',
  'payments',
  'notifications_sent',
  'notifications_acknowledged',
  'refunds',
  'bills_downloaded',
] as const;
export type StatName = (typeof STAT_NAMES)[number];

const MAX_ORDERS = 2000;
const MAX_USERS = 1000;
const MAX_DELIVERIES = 100;
const MAX_TICKETS = 5000;
const MAX_TOKENS = 2000;
const MAX_CODES = 2000;
const MAX_REFUNDS = 2000;
const MAX_BILL_FILES = 50;

/** A generated v3 bill file behind its `download_url` token. */
export interface BillFile {
  bytes: Buffer;
  gzip: boolean;
  expiresAt: number;
}

/** Drops the oldest entries (Maps iterate in insertion order). */
function cap<K, V>(map: Map<K, V>, max: number): void {
  while (map.size > max) {
    const first = map.keys().next();
    if (first.done) return;
    map.delete(first.value);
  }
}

/**
 * All sandbox state, in memory and in one process (docs/sandbox.md): a simulator's state, never business
 * data. Bounded so a long-running dev server does not grow without end.
 */
@Injectable()
export class SandboxStore {
  readonly tokens = new Map<string, IssuedToken>();
  readonly currentToken: { normal?: string; stable?: string } = {};
  readonly oauthCodes = new Map<string, OAuthCode>();
  readonly tickets = new Map<string, QrTicket>();
  menu: { button: unknown[]; menuid: number } | null = null;
  private readonly orders = new Map<string, SandboxOrder>();
  private readonly byPrepay = new Map<string, string>();
  private readonly byTransaction = new Map<string, string>();
  private readonly users = new Map<string, SandboxUser>();
  private readonly refunds = new Map<string, SandboxRefund>();
  readonly billFiles = new Map<string, BillFile>();
  private readonly deliveries: DeliveryRecord[] = [];
  faults: SandboxFaults;
  stats: Record<StatName, number>;

  constructor(private readonly config: AppConfig) {
    assertSandboxAllowed(config);
    this.faults = this.defaultFaults();
    this.stats = this.zeroStats();
  }

  defaultFaults(): SandboxFaults {
    return {
      token: null,
      api: null,
      pay: null,
      notify: null,
      refund: 'auto',
      v3_serial: 'public_key',
      push_mode: this.config.wechat.encodingAesKey ? 'safe' : 'plain',
      slow_ms: DEFAULT_SLOW_MS,
    };
  }

  private zeroStats(): Record<StatName, number> {
    return Object.fromEntries(STAT_NAMES.map((n) => [n, 0])) as Record<StatName, number>;
  }

  count(name: StatName, by = 1): void {
    this.stats[name] += by;
  }

  reset(): void {
    this.tokens.clear();
    delete this.currentToken.normal;
    delete this.currentToken.stable;
    this.oauthCodes.clear();
    this.tickets.clear();
    this.menu = null;
    this.orders.clear();
    this.byPrepay.clear();
    this.byTransaction.clear();
    this.users.clear();
    this.refunds.clear();
    this.billFiles.clear();
    this.deliveries.length = 0;
    this.faults = this.defaultFaults();
    this.stats = this.zeroStats();
  }

  // Tokens, codes, tickets --------------------------------------------------------------------

  addToken(token: string, entry: IssuedToken): void {
    this.tokens.set(token, entry);
    cap(this.tokens, MAX_TOKENS);
  }

  addCode(code: string, entry: OAuthCode): void {
    this.oauthCodes.set(code, entry);
    cap(this.oauthCodes, MAX_CODES);
  }

  addTicket(ticket: QrTicket): void {
    this.tickets.set(ticket.ticket, ticket);
    cap(this.tickets, MAX_TICKETS);
  }

  // Users -------------------------------------------------------------------------------------

  /** Records an openid the sandbox has seen (OAuth login, scan, follow). */
  touchUser(openid: string, via: string, now: number): SandboxUser {
    let user = this.users.get(openid);
    if (!user) {
      user = { openid, subscribed: false, firstSeen: now, lastSeen: now, via };
      this.users.set(openid, user);
      cap(this.users, MAX_USERS);
    }
    user.lastSeen = now;
    return user;
  }

  findUser(openid: string): SandboxUser | undefined {
    return this.users.get(openid);
  }

  listUsers(): SandboxUser[] {
    return [...this.users.values()].sort((a, b) => b.lastSeen - a.lastSeen);
  }

  // Orders ------------------------------------------------------------------------------------

  addOrder(order: SandboxOrder): void {
    this.orders.set(order.outTradeNo, order);
    this.byPrepay.set(order.prepayId, order.outTradeNo);
    while (this.orders.size > MAX_ORDERS) {
      const [oldest] = this.orders.values();
      this.orders.delete(oldest.outTradeNo);
      this.byPrepay.delete(oldest.prepayId);
      if (oldest.transactionId) this.byTransaction.delete(oldest.transactionId);
    }
  }

  indexTransaction(order: SandboxOrder): void {
    if (order.transactionId) this.byTransaction.set(order.transactionId, order.outTradeNo);
  }

  orderByOutTradeNo(no: string): SandboxOrder | undefined {
    return this.orders.get(no);
  }

  orderByPrepayId(prepayId: string): SandboxOrder | undefined {
    const no = this.byPrepay.get(prepayId);
    return no === undefined ? undefined : this.orders.get(no);
  }

  orderByTransactionId(id: string): SandboxOrder | undefined {
    const no = this.byTransaction.get(id);
    return no === undefined ? undefined : this.orders.get(no);
  }

  recentOrders(limit = 50): SandboxOrder[] {
    return [...this.orders.values()].slice(-limit).reverse();
  }

  /** Every order still held (oldest first), for bills. */
  allOrders(): SandboxOrder[] {
    return [...this.orders.values()];
  }

  // Refunds -----------------------------------------------------------------------------------

  addRefund(refund: SandboxRefund): void {
    this.refunds.set(refund.outRefundNo, refund);
    cap(this.refunds, MAX_REFUNDS);
  }

  refundByOutRefundNo(no: string): SandboxRefund | undefined {
    return this.refunds.get(no);
  }

  refundsOfOrder(outTradeNo: string): SandboxRefund[] {
    return [...this.refunds.values()].filter((r) => r.outTradeNo === outTradeNo);
  }

  allRefunds(): SandboxRefund[] {
    return [...this.refunds.values()];
  }

  addBillFile(token: string, file: BillFile): void {
    this.billFiles.set(token, file);
    cap(this.billFiles, MAX_BILL_FILES);
  }

  // Deliveries --------------------------------------------------------------------------------

  addDelivery(record: DeliveryRecord): DeliveryRecord {
    this.deliveries.push(record);
    if (this.deliveries.length > MAX_DELIVERIES) this.deliveries.splice(0, this.deliveries.length - MAX_DELIVERIES);
    return record;
  }

  recentDeliveries(limit = 50): DeliveryRecord[] {
    return this.deliveries.slice(-limit).reverse();
  }
}
