import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../../common/clock';
import { DomainError } from '../../common/errors';
import { maskId } from '../../common/redact';
import { toIsoShanghai } from '../../common/time-format';
import { AppConfig } from '../../config/app-config';
import { fenToYuanNumber, fenToYuanString, yuanToFen } from '../../config/money';
import { DatabaseService } from '../../database/database.service';
import type { EntityManager } from 'typeorm';
import { execute, select, toDate } from '../../database/sql';
import { PayApiError, PayResponseSignatureError, PayUnavailableError } from '../../wechat/pay/pay-errors';
import { JsapiPaymentParams, PayClient } from '../../wechat/pay/pay.client';
import { isActiveMember, UserService } from '../../user/user.service';
import { OrderType, OrderStatus, PaymentOrder } from '../entities/payment-order.entity';
import { isDuplicateNumber, newOrderNo, NUMBER_TRIES } from '../numbers';
import { OrderRow, orderFen } from './order-row';
import { OrderNotFoundError } from '../payment.errors';
import { PaymentApplyService } from './payment-apply.service';
import { PricingService } from '../pricing.service';

/** An order is actively queried at WeChat Pay at most this often, across all processes. */
export const ACTIVE_QUERY_INTERVAL_MS = 3000;
/** A pending order's prepay_id is handed out again while younger than this (WeChat keeps it 2 hours). */
const PREPAY_REUSE_MS = 110 * 60_000;
/** A pending order still without prepay_id after this was never placed (placement times out far sooner). */
const PLACEMENT_GRACE_MS = 60_000;
const ORDER_CREATED_MESSAGE = '订单创建成功，正在调起支付...';
export const MEMBER_ORDER_PENDING_DETAIL = '会员订单正在创建中，请稍后再试';

type Reservation =
  | { kind: 'new'; orderNo: string }
  | { kind: 'pending'; orderNo: string; amountFen: number; prepayId: string }
  | { kind: 'stale'; orderNo: string };

export interface OrderView {
  order_no: string;
  order_type: OrderType;
  amount: number;
  credits_amount: number | null;
  status: OrderStatus;
  created_at: string | null;
  paid_at: string | null;
}

/**
 * Orders (docs/api.md Payment): created pending, then placed at WeChat Pay; a refusal marks them
 * failed (502). While pending, the status endpoint asks WeChat Pay itself (throttled by a
 * conditional update of last_queried_at) and applies a paid result exactly as a notification would.
 */
@Injectable()
export class OrderService {
  private readonly logger = new Logger(OrderService.name);

  constructor(
    private readonly db: DatabaseService,
    private readonly pay: PayClient,
    private readonly pricing: PricingService,
    private readonly payments: PaymentApplyService,
    private readonly users: UserService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /**
   * Reserves the order (see `reserve`), then places it at WeChat Pay outside any transaction: a slow
   * WeChat never holds a lock. A membership order already pending is handed out again instead.
   */
  async create(openid: string, orderType: OrderType, creditsAmount: number | undefined, payerIp: string) {
    const priced = this.pricing.price(orderType, creditsAmount);
    if (!priced) throw new DomainError(400, '无效的额度套餐');
    for (let attempt = 1; ; attempt++) {
      const slot = await this.reserve(openid, orderType, priced.amountFen, orderType === 'credits' ? priced.credits : null);
      if (slot.kind === 'new') return this.place(slot.orderNo, openid, orderType, priced.amountFen, priced.description, payerIp);
      if (slot.kind === 'pending') {
        return {
          success: true as const,
          order_no: slot.orderNo,
          amount: fenToYuanNumber(slot.amountFen),
          payment_params: this.pay.jsapiParams(slot.prepayId),
          message: ORDER_CREATED_MESSAGE,
        };
      }
      // A pending membership order that can no longer be handed out: closed first, never doubled.
      if (attempt >= 2) throw new DomainError(409, MEMBER_ORDER_PENDING_DETAIL);
      try {
        await this.closeAtWechat(slot.orderNo);
      } catch (err) {
        this.logger.warn(`could not close ${slot.orderNo} before a new membership order: ${(err as Error).message}`);
        throw new DomainError(409, MEMBER_ORDER_PENDING_DETAIL);
      }
    }
  }

  /**
   * The order limits of docs/limits.md "Orders and credits", atomic across requests and processes:
   * one transaction locks the caller's user row (a no-op UPDATE: an InnoDB row lock on MySQL; on
   * SQLite the first write takes the database lock), then counts the caller's unexpired pending
   * orders and inserts. So a membership order is never pending twice (the pending one is returned,
   * or 409 while it is still being placed), and at most MAX_PENDING_ORDERS_PER_USER are pending (429).
   */
  private reserve(openid: string, orderType: OrderType, amountFen: number, credits: number | null): Promise<Reservation> {
    return this.db.transaction(async (em): Promise<Reservation> => {
      await this.users.lockIn(em, openid);
      const now = this.clock.now();
      if (orderType === 'member') {
        const user = await this.users.findByOpenidIn(em, openid);
        if (this.config.pricing.memberDurationDays === 0 && user && isActiveMember(user, now)) {
          throw new DomainError(400, '您已经是会员，无需重复开通');
        }
      }
      const pending = await select<Pick<OrderRow, 'order_no' | 'order_type' | 'amount' | 'amount_fen' | 'prepay_id' | 'created_at'>>(
        em,
        "SELECT order_no, order_type, amount, amount_fen, prepay_id, created_at FROM payment_orders WHERE openid = ? AND status = 'pending' AND expire_at > ? ORDER BY id DESC",
        [openid, now],
      );
      const member = orderType === 'member' ? pending.find((o) => o.order_type === 'member') : undefined;
      if (member) {
        const age = now.getTime() - (toDate(member.created_at)?.getTime() ?? 0);
        if (member.prepay_id && age < PREPAY_REUSE_MS) {
          return { kind: 'pending', orderNo: member.order_no, amountFen: orderFen(member), prepayId: member.prepay_id };
        }
        if (!member.prepay_id && age < PLACEMENT_GRACE_MS) throw new DomainError(409, MEMBER_ORDER_PENDING_DETAIL);
        return { kind: 'stale', orderNo: member.order_no };
      }
      const cap = this.config.pricing.maxPendingOrdersPerUser;
      if (pending.length >= cap) throw new DomainError(429, `待支付订单已达上限（${cap} 笔），请先完成支付或等待订单过期`);
      return { kind: 'new', orderNo: await this.insertPending(em, openid, orderType, amountFen, credits, now) };
    });
  }

  private async place(orderNo: string, openid: string, orderType: OrderType, amountFen: number, description: string, payerIp: string) {
    const expireAt = new Date(this.clock.now().getTime() + this.config.pricing.orderTtlMinutes * 60_000);
    let prepayId: string;
    let paymentParams: JsapiPaymentParams;
    try {
      ({ prepayId, paymentParams } = await this.pay.createJsapiOrder({
        orderNo,
        description,
        amountFen,
        payerOpenid: openid,
        payerIp,
        notifyUrl: this.config.pay.notifyUrl,
        expireAt,
      }));
    } catch (err) {
      const reason = placementFailure(err);
      await this.db.run((em) =>
        execute(em, "UPDATE payment_orders SET status = 'failed', failure_reason = ? WHERE order_no = ? AND status = 'pending'", [
          reason.slice(0, 255),
          orderNo,
        ]),
      );
      this.logger.warn(`order ${orderNo} could not be placed: ${reason}`);
      throw new DomainError(502, `支付下单失败: ${reason}`);
    }
    await this.db.run((em) => execute(em, 'UPDATE payment_orders SET prepay_id = ? WHERE order_no = ?', [prepayId, orderNo]));
    this.logger.log(`order ${orderNo} placed for ${maskId(openid)} (${orderType}, ${amountFen} fen, ${this.pay.version})`);
    return {
      success: true as const,
      order_no: orderNo,
      amount: fenToYuanNumber(amountFen),
      payment_params: paymentParams,
      message: ORDER_CREATED_MESSAGE,
    };
  }

  /** The caller's own order; while pending, WeChat Pay is asked (throttled) and a payment applied. */
  async get(openid: string, orderNo: string): Promise<OrderView> {
    let order = await this.find(orderNo);
    if (!order || order.openid !== openid) throw new OrderNotFoundError();
    if (order.status === 'pending' && (await this.claimQuery(orderNo, ACTIVE_QUERY_INTERVAL_MS))) {
      await this.reconcileWithWechat(orderNo);
      order = (await this.find(orderNo))!;
    }
    return view(order);
  }

  async list(openid: string): Promise<OrderView[]> {
    const rows = await this.db.run((em) => em.find(PaymentOrder, { where: { openid }, order: { id: 'DESC' }, take: 50 }));
    return rows.map(view);
  }

  /**
   * Asks WeChat Pay for the order's state and applies it exactly as a notification would. Errors
   * are logged, never thrown: the caller still gets the order as it stands.
   */
  async reconcileWithWechat(orderNo: string): Promise<void> {
    try {
      const r = await this.pay.queryOrder(orderNo);
      if (r.state === 'SUCCESS') {
        await this.payments.apply({
          orderNo,
          status: 'paid',
          transactionId: r.transactionId,
          totalFen: r.totalFen,
          payerOpenid: r.payerOpenid,
          paidAt: r.paidAt,
          raw: r.raw,
        });
      } else if (r.state === 'CLOSED' || r.state === 'REVOKED') {
        await this.payments.apply({ orderNo, status: 'closed' });
      } else if (r.state === 'PAYERROR') {
        await this.payments.apply({ orderNo, status: 'failed', reason: 'PAYERROR' });
      }
    } catch (err) {
      this.logger.warn(`active query of ${orderNo} failed: ${(err as Error).message}`);
    }
  }

  /** Conditional update of last_queried_at: true for exactly one caller per interval, across processes. */
  async claimQuery(orderNo: string, intervalMs: number): Promise<boolean> {
    const now = this.clock.now();
    const res = await this.db.run((em) =>
      execute(
        em,
        "UPDATE payment_orders SET last_queried_at = ? WHERE order_no = ? AND status = 'pending' AND (last_queried_at IS NULL OR last_queried_at <= ?)",
        [now, orderNo, new Date(now.getTime() - intervalMs)],
      ),
    );
    return res.affected === 1;
  }

  /** Closes a pending order at WeChat Pay and here; a payment that beat the close is applied instead. */
  async closeAtWechat(orderNo: string): Promise<void> {
    try {
      await this.pay.closeOrder(orderNo);
    } catch (err) {
      if (err instanceof PayApiError && err.code === 'ORDERPAID') return this.reconcileWithWechat(orderNo);
      // Never placed at WeChat Pay (placement failed or never reached it): nothing to close there.
      if (!(err instanceof PayApiError && (err.code === 'ORDERNOTEXIST' || err.code === 'ORDER_NOT_EXIST'))) throw err;
    }
    await this.payments.apply({ orderNo, status: 'closed' });
  }

  private async insertPending(
    em: EntityManager,
    openid: string,
    orderType: OrderType,
    amountFen: number,
    credits: number | null,
    now: Date,
  ): Promise<string> {
    const expireAt = new Date(now.getTime() + this.config.pricing.orderTtlMinutes * 60_000);
    for (let attempt = 1; ; attempt++) {
      const orderNo = newOrderNo(now);
      try {
        await execute(
          em,
          `INSERT INTO payment_orders (order_no, openid, order_type, amount, amount_fen, credits_amount, status, pay_version, created_at, expire_at)
           VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)`,
          [orderNo, openid, orderType, fenToYuanString(amountFen), amountFen, credits, this.pay.version, now, expireAt],
        );
        return orderNo;
      } catch (err) {
        if (attempt >= NUMBER_TRIES || !isDuplicateNumber(err)) throw err;
      }
    }
  }

  private find(orderNo: string): Promise<PaymentOrder | null> {
    return this.db.run((em) => em.findOneBy(PaymentOrder, { orderNo }));
  }
}

function view(o: PaymentOrder): OrderView {
  return {
    order_no: o.orderNo,
    order_type: o.orderType,
    amount: fenToYuanNumber(o.amountFen ?? yuanToFen(o.amount)),
    credits_amount: o.creditsAmount,
    status: o.status,
    created_at: toIsoShanghai(o.createdAt),
    paid_at: toIsoShanghai(o.paidAt),
  };
}

/** A short reason for the 502 detail; never key material. */
function placementFailure(err: unknown): string {
  if (err instanceof PayApiError) return `${err.code}${err.message ? ` ${err.message}` : ''}`.slice(0, 120);
  if (err instanceof PayUnavailableError) return '微信支付暂不可用';
  if (err instanceof PayResponseSignatureError) return '微信支付应答签名无效';
  return '未知错误';
}
