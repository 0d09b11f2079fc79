import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../common/clock';
import { DomainError } from '../common/errors';
import { maskId } from '../common/redact';
import { toIsoShanghai } from '../common/time-format';
import { AppConfig } from '../config/app-config';
import { fenToYuanNumber, fenToYuanString, yuanToFen } from '../config/money';
import { DatabaseService } from '../database/database.service';
import { execute, select } from '../database/sql';
import { PayApiError, PayResponseSignatureError, PayUnavailableError } from '../wechat/pay/pay-errors';
import { JsapiPaymentParams, PayClient } from '../wechat/pay/pay.client';
import { UserService, isActiveMember } from '../user/user.service';
import { OrderType, OrderStatus, PaymentOrder } from './entities/payment-order.entity';
import { newOrderNo } from './order-number';
import { OrderNotFoundError } from './payment.errors';
import { PaymentApplyService } from './payment-apply.service';
import { PricingService } from './pricing.service';

/** An order is actively queried at WeChat Pay at most this often, across all processes. */
export const ACTIVE_QUERY_INTERVAL_MS = 3000;
const MAX_ORDER_NO_TRIES = 3;

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
 * Orders (api.md Payment): created pending, then placed at WeChat Pay; a refusal marks them
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

  async create(openid: string, orderType: OrderType, creditsAmount: number | undefined, payerIp: string) {
    const priced = this.pricing.price(orderType, creditsAmount);
    if (!priced) throw new DomainError(400, '无效的额度套餐');
    if (orderType === 'member') {
      const user = await this.users.findByOpenid(openid);
      if (this.config.pricing.memberDurationDays === 0 && user && isActiveMember(user, this.clock.now())) {
        throw new DomainError(400, '您已经是会员，无需重复开通');
      }
      // At most one membership payment in flight: close the caller's other pending member orders.
      await this.closePendingMemberOrders(openid);
    }

    const orderNo = await this.insertPending(openid, orderType, priced.amountFen, orderType === 'credits' ? priced.credits : null);
    const expireAt = new Date(this.clock.now().getTime() + this.config.pricing.orderTtlMinutes * 60_000);
    let prepayId: string;
    let paymentParams: JsapiPaymentParams;
    try {
      ({ prepayId, paymentParams } = await this.pay.createJsapiOrder({
        orderNo,
        description: priced.description,
        amountFen: priced.amountFen,
        payerOpenid: openid,
        payerIp,
        notifyUrl: this.config.pay.notifyUrl,
        expireAt,
      }));
    } catch (err) {
      const reason = placementFailure(err);
      await this.db.run((em) =>
        execute(em, "UPDATE payment_orders SET status = 'failed', failure_reason = ? WHERE order_no = ? AND status = 'pending'", [reason.slice(0, 255), orderNo]),
      );
      this.logger.warn(`order ${orderNo} could not be placed: ${reason}`);
      throw new DomainError(502, `支付下单失败: ${reason}`);
    }
    await this.db.run((em) => execute(em, 'UPDATE payment_orders SET prepay_id = ? WHERE order_no = ?', [prepayId, orderNo]));
    this.logger.log(`order ${orderNo} placed for ${maskId(openid)} (${orderType}, ${priced.amountFen} fen, ${this.pay.version})`);
    return {
      success: true as const,
      order_no: orderNo,
      amount: fenToYuanNumber(priced.amountFen),
      payment_params: paymentParams,
      message: '订单创建成功，正在调起支付...',
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
        await this.payments.apply({ orderNo, status: 'paid', transactionId: r.transactionId, totalFen: r.totalFen, payerOpenid: r.payerOpenid, paidAt: r.paidAt, raw: r.raw });
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

  private async closePendingMemberOrders(openid: string): Promise<void> {
    const pending = await this.db.run((em) =>
      select<{ order_no: string }>(em, "SELECT order_no FROM payment_orders WHERE openid = ? AND order_type = 'member' AND status = 'pending'", [openid]),
    );
    for (const o of pending) {
      await this.closeAtWechat(o.order_no).catch((err) => this.logger.warn(`could not close ${o.order_no}: ${(err as Error).message}`));
    }
  }

  private async insertPending(openid: string, orderType: OrderType, amountFen: number, credits: number | null): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      const now = this.clock.now();
      const orderNo = newOrderNo(now);
      try {
        await this.db.run((em) =>
          execute(
            em,
            `INSERT INTO payment_orders (order_no, openid, order_type, amount, amount_fen, credits_amount, status, pay_version, created_at, expire_at)
             VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)`,
            [orderNo, openid, orderType, fenToYuanString(amountFen), amountFen, credits, this.pay.version, now, new Date(now.getTime() + this.config.pricing.orderTtlMinutes * 60_000)],
          ),
        );
        return orderNo;
      } catch (err) {
        if (attempt >= MAX_ORDER_NO_TRIES || !/duplicate|unique/i.test(String((err as Error).message))) throw err;
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
