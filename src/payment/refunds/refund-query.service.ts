import { Injectable } from '@nestjs/common';
import { DatabaseService } from '../../database/database.service';
import { LedgerService } from '../../user/ledger.service';
import type { OrderStatus, OrderType } from '../entities/payment-order.entity';
import { orderFen } from '../orders/order-row';
import { OrderRepository } from '../orders/order.repository';
import { OrderNotFoundError } from '../payment.errors';
import { previewRefund } from './refund-rules';
import { RefundView, refundView } from './refund-view';
import { RefundRepository } from './refund.repository';

export interface RefundPreview {
  order_no: string;
  openid: string;
  order_status: OrderStatus;
  order_type: OrderType;
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

/** What the console shows of refunds: an order's refunds, and what a refund would do before it is asked for. */
@Injectable()
export class RefundQueryService {
  constructor(
    private readonly db: DatabaseService,
    private readonly refunds: RefundRepository,
    private readonly orders: OrderRepository,
    private readonly ledger: LedgerService,
  ) {}

  async listForOrder(orderNo: string): Promise<RefundView[]> {
    return (await this.refunds.listForOrder(orderNo)).map(refundView);
  }

  /**
   * What a refund of `amountFen` (default: all that is left) would do, for the console's
   * confirmation (refund-rules.ts `previewRefund`): what is still refundable and the credits it
   * would take back, capped at today's balance.
   */
  async preview(orderNo: string, amountFen?: number): Promise<RefundPreview> {
    return this.db.run(async (em) => {
      const o = await this.orders.findIn(em, orderNo);
      if (!o) throw new OrderNotFoundError();
      const fen = orderFen(o);
      const granted = await this.ledger.grantedByOrder(em, orderNo);
      const { refundedFen, dueBefore } = await this.refunds.successfulIn(em, orderNo);
      const balance = Math.max(0, await this.ledger.balance(em, o.openid));
      const p = previewRefund({
        orderStatus: o.status,
        orderFen: fen,
        heldFen: await this.refunds.heldFenIn(em, orderNo),
        requestedFen: amountFen,
        granted,
        refundedFenTotal: refundedFen,
        dueBefore,
        balance,
      });
      return {
        order_no: orderNo,
        openid: o.openid,
        order_status: o.status,
        order_type: o.order_type,
        order_fen: fen,
        refundable_fen: p.refundable,
        amount_fen: p.amount,
        credits_granted: Math.max(0, granted),
        credits_due: p.due,
        credits_taken: p.taken,
        remaining_credits: balance,
      };
    });
  }
}
