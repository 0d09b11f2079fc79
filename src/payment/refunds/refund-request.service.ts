import { Injectable, Logger } from '@nestjs/common';
import { randomInt } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { Clock } from '../../common/clock';
import { DomainError } from '../../common/errors';
import { shanghaiCompact, toIsoShanghai } from '../../common/time-format';
import { AppConfig } from '../../config/app-config';
import { fenToYuanNumber, fenToYuanString, yuanToFen } from '../../config/money';
import { DatabaseService } from '../../database/database.service';
import { execute, insertIgnore, select, toDate } from '../../database/sql';
import { LedgerService, takeBack } from '../../user/ledger.service';
import { MembershipService } from '../../user/membership.service';
import { UserService } from '../../user/user.service';
import { PayApiError, PayResponseSignatureError, PayUnavailableError } from '../../wechat/pay/pay-errors';
import { PayClient, RefundResult } from '../../wechat/pay/pay.client';
import { AnomalyService } from '../anomaly.service';
import type { OrderStatus } from '../entities/payment-order.entity';
import type { RefundStatus } from '../entities/payment-refund.entity';
import { OrderNotFoundError } from '../payment.errors';

export class RefundNotFoundError extends DomainError {
  constructor() {
    super(404, '退款单不存在');
  }
}

export class RefundMismatchError extends DomainError {
  constructor() {
    super(409, '退款金额与退款单不符');
  }
}

export interface RequestRefundInput {
  orderNo: string;
  /** Default: what is left of the order after earlier refunds (the full amount the first time). */
  amountFen?: number;
  note: string;
  /** The caller's idempotency key: the same request_id again never refunds twice. */
  requestId: string;
}

export interface RefundView {
  refund_no: string;
  order_no: string;
  request_id: string;
  amount_fen: number;
  amount: number;
  status: RefundStatus;
  wx_refund_id: string | null;
  note: string | null;
  credits_due: number | null;
  credits_taken: number | null;
  failure_reason: string | null;
  created_at: string | null;
  completed_at: string | null;
}

export interface RefundPreview {
  order_no: string;
  openid: string;
  order_status: OrderStatus;
  order_type: 'member' | 'credits';
  order_fen: number;
  /** 0 unless the order is paid: what later refunds may still claim. */
  refundable_fen: number;
  amount_fen: number;
  credits_granted: number;
  /** Credits the rule takes back for this refund, and what the balance allows today. */
  credits_due: number;
  credits_taken: number;
  remaining_credits: number;
}

export interface RequestRefundOutcome {
  /** false: this request_id was seen before; the refund it created is reported (and moved on if it can be). */
  created: boolean;
  refund: RefundView;
  orderStatus: OrderStatus;
}

/** WeChat's result for one refund, as a notification or a query reports it. */
export interface ApplyRefundInput {
  refundNo: string;
  orderNo: string;
  status: 'success' | 'closed' | 'abnormal';
  refundFen: number;
  totalFen: number;
  wxRefundId?: string;
  successAt?: Date;
  raw?: string;
}

export interface ApplyRefundOutcome {
  applied: boolean;
  refundStatus: RefundStatus;
  orderStatus: OrderStatus;
}

interface RefundRow {
  refund_no: string;
  request_id: string;
  order_no: string;
  openid: string;
  amount_fen: number;
  total_fen: number;
  status: RefundStatus;
  wx_refund_id: string | null;
  note: string | null;
  credits_due: number | null;
  credits_taken: number | null;
  failure_reason: string | null;
  created_at: unknown;
  completed_at: unknown;
}

interface OrderRow {
  order_no: string;
  openid: string;
  order_type: 'member' | 'credits';
  amount: string | number;
  amount_fen: number | null;
  status: OrderStatus;
}

/** Refund statuses that still hold (part of) the order's money: later refunds cannot claim it again. */
const OUTSTANDING: RefundStatus[] = ['pending', 'processing', 'success', 'abnormal'];
const MAX_REFUND_NO_TRIES = 3;

/** `RF` + YYYYMMDDHHmmss (Asia/Shanghai) + 8 CSPRNG chars: WeChat's out_refund_no allows 64 of [A-Za-z0-9_-|*@]. */
export function newRefundNo(now: Date): string {
  const stamp = shanghaiCompact(now);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let suffix = '';
  for (let i = 0; i < 8; i++) suffix += alphabet[randomInt(alphabet.length)];
  return `RF${stamp}${suffix}`;
}

/**
 * Credits a refund takes back (docs/ops.md; the rule decided here): in proportion to the money given
 * back, rounded up, counted cumulatively over the order's successful refunds so that several partial
 * refunds never take more than one full refund would; a full refund takes everything the order granted.
 */
export function creditsDue(granted: number, orderFen: number, refundedFenTotal: number, dueBefore: number): number {
  if (granted <= 0 || orderFen <= 0) return 0;
  const cumulative = refundedFenTotal >= orderFen ? granted : Math.min(granted, Math.ceil((granted * refundedFenTotal) / orderFen));
  return Math.max(0, cumulative - dueBefore);
}

/**
 * Refunds (docs/ops.md "Refunds"). An admin asks for one (idempotent per request_id); WeChat Pay is asked
 * (v2 secapi/pay/refund, v3 /v3/refund/domestic/refunds) and the order stays `paid` until WeChat
 * reports the result. Applying a result is the single gate every notification, query and retry
 * passes through: a conditional status update, then — only for the caller that moved it — the
 * `payment_refund` ledger entry (UNIQUE reason+ref = refund_no), capped at the balance, the
 * shortfall as an anomaly, the order `refunded` once fully refunded, and a fully refunded
 * membership ended. Identical on MySQL and SQLite, no SELECT … FOR UPDATE.
 */
@Injectable()
export class RefundService {
  private readonly logger = new Logger(RefundService.name);

  constructor(
    private readonly db: DatabaseService,
    private readonly pay: PayClient,
    private readonly ledger: LedgerService,
    private readonly users: UserService,
    private readonly membership: MembershipService,
    private readonly anomalies: AnomalyService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  async requestRefund(input: RequestRefundInput): Promise<RequestRefundOutcome> {
    const seen = await this.findByRequestId(input.requestId);
    if (seen) return this.resume(seen, input.orderNo);

    const order = await this.findOrder(input.orderNo);
    if (!order) throw new OrderNotFoundError();
    const recorded = await this.db.transaction(async (em) => {
      // A no-op update takes the order's row lock (MySQL): refunds of one order are decided one at a time.
      await execute(em, 'UPDATE payment_orders SET status = status WHERE order_no = ?', [input.orderNo]);
      // The same request_id that raced us here got the lock first: report its refund instead.
      if ((await select(em, 'SELECT refund_no FROM payment_refunds WHERE request_id = ?', [input.requestId])).length) return null;
      const [o] = await select<OrderRow>(em, 'SELECT * FROM payment_orders WHERE order_no = ?', [input.orderNo]);
      if (o.status === 'refunded') throw new DomainError(409, '订单已全额退款');
      if (o.status !== 'paid') throw new DomainError(409, '订单未支付，不能退款');
      const orderFen = o.amount_fen ?? yuanToFen(String(o.amount));
      const [{ s }] = await select<{ s: number | string | null }>(
        em,
        `SELECT COALESCE(SUM(amount_fen), 0) AS s FROM payment_refunds WHERE order_no = ? AND status IN (${OUTSTANDING.map(() => '?').join(', ')})`,
        [input.orderNo, ...OUTSTANDING],
      );
      const left = orderFen - Number(s ?? 0);
      if (left <= 0) throw new DomainError(409, '订单已全额退款');
      const amountFen = input.amountFen ?? left;
      if (amountFen > left) throw new DomainError(409, `退款金额超过可退金额（最多 ${fenToYuanString(left)} 元）`);
      const now = this.clock.now();
      for (let attempt = 1; ; attempt++) {
        const refundNo = newRefundNo(now);
        try {
          const res = await execute(
            em,
            `${insertIgnore(em)} payment_refunds (refund_no, request_id, order_no, openid, amount_fen, total_fen, status, pay_version, note, created_at)
             VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)`,
            [refundNo, input.requestId, input.orderNo, o.openid, amountFen, orderFen, this.pay.version, input.note.slice(0, 255), now],
          );
          if (res.affected === 1) return refundNo;
          // Ignored: the request_id was taken meanwhile (or, astronomically, the refund_no).
          const [byRequest] = await select<{ refund_no: string }>(em, 'SELECT refund_no FROM payment_refunds WHERE request_id = ?', [
            input.requestId,
          ]);
          if (byRequest || attempt >= MAX_REFUND_NO_TRIES) return null;
        } catch (err) {
          if (attempt >= MAX_REFUND_NO_TRIES || !/duplicate|unique/i.test(String((err as Error).message))) throw err;
        }
      }
    });
    const row = await this.findByRequestId(input.requestId);
    if (!row) throw new Error('refund row vanished after insert');
    if (!recorded) return this.resume(row, input.orderNo);
    this.logger.log(`refund ${row.refund_no} of ${row.order_no} recorded (${row.amount_fen} of ${row.total_fen} fen)`);
    await this.send(row);
    return this.outcome(row.refund_no, true);
  }

  /** A request_id seen before: report its refund, and move it on (resend when WeChat's answer was lost, query when processing). */
  private async resume(row: RefundRow, orderNo: string): Promise<RequestRefundOutcome> {
    if (row.order_no !== orderNo) throw new DomainError(409, 'request_id已用于另一订单的退款');
    if (row.status === 'pending') await this.send(row);
    else if (row.status === 'processing')
      await this.sync(row.refund_no).catch((err) => this.logger.warn(`refund ${row.refund_no} query failed: ${(err as Error).message}`));
    return this.outcome(row.refund_no, false);
  }

  /**
   * Asks WeChat Pay; resending a pending refund is safe (the same out_refund_no is the same refund).
   * A refusal marks it failed (nothing was refunded); no answer leaves it pending for a retry.
   */
  private async send(row: RefundRow): Promise<void> {
    let result: RefundResult;
    try {
      result = await this.pay.refund({
        orderNo: row.order_no,
        refundNo: row.refund_no,
        totalFen: row.total_fen,
        refundFen: row.amount_fen,
        // v3 results arrive with the payments (docs/callbacks.md §3); v2 on their own URL.
        notifyUrl: this.pay.version === 'v3' ? this.config.pay.notifyUrl : this.config.pay.refundNotifyUrl,
        reason: row.note ?? undefined,
      });
    } catch (err) {
      if (err instanceof PayApiError) {
        const reason = `${err.code}${err.message ? ` ${err.message}` : ''}`.slice(0, 255);
        await this.db.run((em) =>
          execute(em, "UPDATE payment_refunds SET status = 'failed', failure_reason = ? WHERE refund_no = ? AND status = 'pending'", [
            reason,
            row.refund_no,
          ]),
        );
        this.logger.warn(`refund ${row.refund_no} refused by WeChat Pay: ${reason}`);
        throw new DomainError(502, `退款失败: ${reason.slice(0, 120)}`);
      }
      if (err instanceof PayUnavailableError || err instanceof PayResponseSignatureError) {
        this.logger.warn(`refund ${row.refund_no} not confirmed by WeChat Pay (${err.message}); still pending`);
        throw new DomainError(502, '微信支付暂不可用，退款待确认：请用同一 request_id 重试');
      }
      throw err;
    }
    await this.db.run((em) =>
      execute(
        em,
        "UPDATE payment_refunds SET status = 'processing', wx_refund_id = COALESCE(?, wx_refund_id) WHERE refund_no = ? AND status = 'pending'",
        [result.wxRefundId ?? null, row.refund_no],
      ),
    );
    await this.applyResult(row, result);
  }

  /** Asks WeChat Pay for a refund's state and applies a final one (jobs, a repeated request). */
  async sync(refundNo: string): Promise<void> {
    const row = await this.findByRefundNo(refundNo);
    if (!row) throw new RefundNotFoundError();
    if (row.status === 'pending') return this.send(row);
    if (row.status !== 'processing' && row.status !== 'abnormal') return;
    const result = await this.pay.queryRefund(refundNo);
    if (result.state === 'NOT_FOUND') {
      this.logger.warn(`refund ${refundNo} is ${row.status} here but unknown to WeChat Pay`);
      return;
    }
    await this.applyResult(row, result);
  }

  private async applyResult(row: RefundRow, r: RefundResult): Promise<void> {
    if (r.state !== 'SUCCESS' && r.state !== 'CLOSED' && r.state !== 'ABNORMAL') return;
    await this.apply({
      refundNo: row.refund_no,
      orderNo: row.order_no,
      status: r.state === 'SUCCESS' ? 'success' : r.state === 'CLOSED' ? 'closed' : 'abnormal',
      refundFen: r.refundFen ?? row.amount_fen,
      totalFen: r.totalFen ?? row.total_fen,
      wxRefundId: r.wxRefundId,
      successAt: r.successAt,
      raw: r.raw,
    });
  }

  /**
   * Applies WeChat's result for a refund we asked for, exactly once. Unknown refund → 404 and an
   * anomaly; a result whose order or amounts differ from ours → 409 and an anomaly (never applied).
   */
  async apply(input: ApplyRefundInput): Promise<ApplyRefundOutcome> {
    const row = await this.findByRefundNo(input.refundNo);
    if (!row) {
      await this.anomalies.record(
        input.orderNo,
        'unknown_refund',
        `WeChat reports refund ${input.refundNo} (${input.status}, ${input.refundFen} fen) that we never asked for`,
      );
      throw new RefundNotFoundError();
    }
    if (row.order_no !== input.orderNo || row.amount_fen !== input.refundFen || row.total_fen !== input.totalFen) {
      await this.anomalies.record(
        row.order_no,
        'refund_mismatch',
        `refund ${row.refund_no}: WeChat says order ${input.orderNo}, ${input.refundFen} of ${input.totalFen} fen; ours is ${row.amount_fen} of ${row.total_fen} fen`,
      );
      throw new RefundMismatchError();
    }
    if (input.status === 'success') return this.applySuccess(row, input);
    return this.applyUnsuccessful(row, input);
  }

  private applySuccess(row: RefundRow, input: ApplyRefundInput): Promise<ApplyRefundOutcome> {
    return this.db.transaction(async (em) => {
      const now = this.clock.now();
      // Order row lock first: the refunds of one order are applied one at a time (cumulative credits).
      await execute(em, 'UPDATE payment_orders SET status = status WHERE order_no = ?', [row.order_no]);
      const gate = await execute(
        em,
        `UPDATE payment_refunds SET status = 'success', completed_at = ?, wx_refund_id = COALESCE(?, wx_refund_id), raw = ?
         WHERE refund_no = ? AND status IN ('pending', 'processing', 'abnormal', 'failed')`,
        [input.successAt ?? now, input.wxRefundId || null, input.raw ?? null, row.refund_no],
      );
      if (gate.affected !== 1) return this.current(em, row);

      const [order] = await select<OrderRow>(em, 'SELECT * FROM payment_orders WHERE order_no = ?', [row.order_no]);
      const orderFen = order.amount_fen ?? yuanToFen(String(order.amount));
      const [{ granted }] = await select<{ granted: number | string | null }>(
        em,
        "SELECT COALESCE(SUM(delta), 0) AS granted FROM credit_ledger WHERE reason IN ('purchase', 'member_bonus') AND ref = ?",
        [row.order_no],
      );
      const [{ refunded, dueBefore }] = await select<{ refunded: number | string | null; dueBefore: number | string | null }>(
        em,
        `SELECT COALESCE(SUM(amount_fen), 0) AS refunded, COALESCE(SUM(CASE WHEN refund_no <> ? THEN credits_due ELSE 0 END), 0) AS dueBefore
         FROM payment_refunds WHERE order_no = ? AND status = 'success'`,
        [row.refund_no, row.order_no],
      );
      const due = creditsDue(Math.max(0, Number(granted ?? 0)), orderFen, Number(refunded ?? 0), Number(dueBefore ?? 0));

      // Lock the user's row, then read the balance it may take back (never below zero).
      await this.users.lockIn(em, order.openid);
      const taken = Math.min(due, Math.max(0, await this.ledger.balance(em, order.openid)));
      if (taken > 0)
        await this.ledger.apply(em, { openid: order.openid, reason: 'payment_refund', ref: row.refund_no, change: takeBack(taken) });
      if (due > taken) {
        await this.anomalies.recordIn(
          em,
          row.order_no,
          'refund_shortfall',
          `refund ${row.refund_no}: ${due} credits due back, the balance allowed ${taken}; ${due - taken} could not be taken back`,
        );
      }
      await execute(em, 'UPDATE payment_refunds SET credits_due = ?, credits_taken = ? WHERE refund_no = ?', [due, taken, row.refund_no]);
      // total_paid_amount is what the user paid net of refunds.
      await this.membership.refundPaidIn(em, order.openid, fenToYuanString(row.amount_fen));

      const fully = Number(refunded ?? 0) >= orderFen;
      let orderStatus = order.status;
      if (fully) {
        const res = await execute(em, "UPDATE payment_orders SET status = 'refunded' WHERE order_no = ? AND status = 'paid'", [
          row.order_no,
        ]);
        if (res.affected === 1) orderStatus = 'refunded';
        if (order.order_type === 'member') await this.endMembership(em, order, now);
      }
      this.logger.log(
        `refund ${row.refund_no} of ${row.order_no} succeeded: ${row.amount_fen} fen, ${taken}/${due} credits taken back${fully ? ', order refunded' : ''}`,
      );
      return { applied: true, refundStatus: 'success' as const, orderStatus };
    });
  }

  /** A fully refunded membership order: MembershipService ends it, or keeps/shortens it when another paid one stands. */
  private async endMembership(em: EntityManager, order: OrderRow, now: Date): Promise<void> {
    const [{ n }] = await select<{ n: number | string }>(
      em,
      "SELECT COUNT(*) AS n FROM payment_orders WHERE openid = ? AND order_type = 'member' AND status = 'paid' AND order_no <> ?",
      [order.openid, order.order_no],
    );
    if ((await this.membership.refundIn(em, order.openid, now, Number(n) > 0)) === 'ended') {
      this.logger.log(`membership of order ${order.order_no} ended by its refund`);
    }
  }

  /** CLOSED (final, nothing refunded) and ABNORMAL (refund to the payer's card failed): recorded for support. */
  private applyUnsuccessful(row: RefundRow, input: ApplyRefundInput): Promise<ApplyRefundOutcome> {
    return this.db.transaction(async (em) => {
      const now = this.clock.now();
      const res =
        input.status === 'closed'
          ? await execute(
              em,
              "UPDATE payment_refunds SET status = 'closed', completed_at = ?, raw = ? WHERE refund_no = ? AND status IN ('pending', 'processing', 'abnormal')",
              [now, input.raw ?? null, row.refund_no],
            )
          : await execute(
              em,
              "UPDATE payment_refunds SET status = 'abnormal', raw = ? WHERE refund_no = ? AND status IN ('pending', 'processing')",
              [input.raw ?? null, row.refund_no],
            );
      if (res.affected !== 1) return this.current(em, row);
      await this.anomalies.recordIn(
        em,
        row.order_no,
        input.status === 'closed' ? 'refund_closed' : 'refund_abnormal',
        input.status === 'closed'
          ? `refund ${row.refund_no} (${row.amount_fen} fen) was closed by WeChat Pay: nothing refunded; ask again with a new request_id`
          : `refund ${row.refund_no} (${row.amount_fen} fen) is abnormal at WeChat Pay (the payer's account refused it): finish it in the merchant console`,
      );
      return this.current(em, row, true);
    });
  }

  private async current(em: EntityManager, row: RefundRow, applied = false): Promise<ApplyRefundOutcome> {
    const [r] = await select<{ status: RefundStatus }>(em, 'SELECT status FROM payment_refunds WHERE refund_no = ?', [row.refund_no]);
    const [o] = await select<{ status: OrderStatus }>(em, 'SELECT status FROM payment_orders WHERE order_no = ?', [row.order_no]);
    return { applied, refundStatus: r.status, orderStatus: o.status };
  }

  private async outcome(refundNo: string, created: boolean): Promise<RequestRefundOutcome> {
    const row = (await this.findByRefundNo(refundNo))!;
    const order = await this.findOrder(row.order_no);
    return { created, refund: view(row), orderStatus: order!.status };
  }

  /** Refunds stuck without a final result (lost notification, lost answer), oldest first, claimed one process at a time. */
  async claimStale(olderThanMs: number, intervalMs: number, limit: number): Promise<string[]> {
    const now = this.clock.now();
    const rows = await this.db.run((em) =>
      select<{ refund_no: string }>(
        em,
        `SELECT refund_no FROM payment_refunds WHERE status IN ('pending', 'processing') AND created_at <= ?
         AND (last_queried_at IS NULL OR last_queried_at <= ?) ORDER BY id LIMIT ${Math.max(1, Math.floor(limit))}`,
        [new Date(now.getTime() - olderThanMs), new Date(now.getTime() - intervalMs)],
      ),
    );
    const claimed: string[] = [];
    for (const { refund_no } of rows) {
      const res = await this.db.run((em) =>
        execute(
          em,
          "UPDATE payment_refunds SET last_queried_at = ? WHERE refund_no = ? AND status IN ('pending', 'processing') AND (last_queried_at IS NULL OR last_queried_at <= ?)",
          [now, refund_no, new Date(now.getTime() - intervalMs)],
        ),
      );
      if (res.affected === 1) claimed.push(refund_no);
    }
    return claimed;
  }

  /**
   * What a refund of `amountFen` (default: all that is left) would do, for the console's
   * confirmation: what is still refundable and the credits the rule above would take back (capped
   * at today's balance). An estimate: refunds still in flight are not counted as successful yet.
   */
  async preview(orderNo: string, amountFen?: number): Promise<RefundPreview> {
    return this.db.run(async (em) => {
      const [o] = await select<OrderRow>(em, 'SELECT * FROM payment_orders WHERE order_no = ?', [orderNo]);
      if (!o) throw new OrderNotFoundError();
      const orderFen = o.amount_fen ?? yuanToFen(String(o.amount));
      const [{ held }] = await select<{ held: number | string | null }>(
        em,
        `SELECT COALESCE(SUM(amount_fen), 0) AS held FROM payment_refunds WHERE order_no = ? AND status IN (${OUTSTANDING.map(() => '?').join(', ')})`,
        [orderNo, ...OUTSTANDING],
      );
      const refundable = o.status === 'paid' ? Math.max(0, orderFen - Number(held ?? 0)) : 0;
      const amount = Math.min(amountFen ?? refundable, refundable);
      const [{ granted }] = await select<{ granted: number | string | null }>(
        em,
        "SELECT COALESCE(SUM(delta), 0) AS granted FROM credit_ledger WHERE reason IN ('purchase', 'member_bonus') AND ref = ?",
        [orderNo],
      );
      const [{ refunded, dueBefore }] = await select<{ refunded: number | string | null; dueBefore: number | string | null }>(
        em,
        "SELECT COALESCE(SUM(amount_fen), 0) AS refunded, COALESCE(SUM(credits_due), 0) AS dueBefore FROM payment_refunds WHERE order_no = ? AND status = 'success'",
        [orderNo],
      );
      const due =
        amount > 0 ? creditsDue(Math.max(0, Number(granted ?? 0)), orderFen, Number(refunded ?? 0) + amount, Number(dueBefore ?? 0)) : 0;
      const balance = Math.max(0, await this.ledger.balance(em, o.openid));
      return {
        order_no: orderNo,
        openid: o.openid,
        order_status: o.status,
        order_type: o.order_type,
        order_fen: orderFen,
        refundable_fen: refundable,
        amount_fen: amount,
        credits_granted: Math.max(0, Number(granted ?? 0)),
        credits_due: due,
        credits_taken: Math.min(due, balance),
        remaining_credits: balance,
      };
    });
  }

  async listForOrder(orderNo: string): Promise<RefundView[]> {
    const rows = await this.db.run((em) =>
      select<RefundRow>(em, 'SELECT * FROM payment_refunds WHERE order_no = ? ORDER BY id', [orderNo]),
    );
    return rows.map(view);
  }

  private findByRequestId(requestId: string): Promise<RefundRow | undefined> {
    return this.db.run(async (em) => (await select<RefundRow>(em, 'SELECT * FROM payment_refunds WHERE request_id = ?', [requestId]))[0]);
  }

  private findByRefundNo(refundNo: string): Promise<RefundRow | undefined> {
    return this.db.run(async (em) => (await select<RefundRow>(em, 'SELECT * FROM payment_refunds WHERE refund_no = ?', [refundNo]))[0]);
  }

  private findOrder(orderNo: string): Promise<OrderRow | undefined> {
    return this.db.run(async (em) => (await select<OrderRow>(em, 'SELECT * FROM payment_orders WHERE order_no = ?', [orderNo]))[0]);
  }
}

function view(r: RefundRow): RefundView {
  return {
    refund_no: r.refund_no,
    order_no: r.order_no,
    request_id: r.request_id,
    amount_fen: Number(r.amount_fen),
    amount: fenToYuanNumber(Number(r.amount_fen)),
    status: r.status,
    wx_refund_id: r.wx_refund_id,
    note: r.note,
    credits_due: r.credits_due === null ? null : Number(r.credits_due),
    credits_taken: r.credits_taken === null ? null : Number(r.credits_taken),
    failure_reason: r.failure_reason,
    created_at: toIsoShanghai(toDate(r.created_at)),
    completed_at: toIsoShanghai(toDate(r.completed_at)),
  };
}
