import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { defaultFaults, SandboxFaults } from './sandbox-faults';
import type {
  BillFile,
  DeliveryRecord,
  IssuedToken,
  OAuthCode,
  QrTicket,
  SandboxOrder,
  SandboxRefund,
  SandboxUser,
} from './sandbox-records';
import { StatName, zeroStats } from './sandbox-stats';
import { assertSandboxAllowed } from './sandbox.constants';

const MAX_ORDERS = 2000;
const MAX_USERS = 1000;
const MAX_DELIVERIES = 100;
const MAX_TICKETS = 5000;
const MAX_TOKENS = 2000;
const MAX_CODES = 2000;
const MAX_REFUNDS = 2000;
const MAX_BILL_FILES = 50;

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
    this.faults = defaultFaults(this.config);
    this.stats = zeroStats();
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
    this.faults = defaultFaults(this.config);
    this.stats = zeroStats();
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
