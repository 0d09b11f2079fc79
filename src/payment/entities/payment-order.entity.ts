import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { decimalYuan } from '../../database/column-types';

export type OrderType = 'member' | 'credits';
export type OrderStatus = 'pending' | 'paid' | 'failed' | 'closed' | 'refunded';

/**
 * `payment_orders` (legacy, extended). `amount_fen` is the truth; `amount` (yuan DECIMAL) is kept
 * for the old service. A NULL `amount_fen` (a row the old service wrote after a rollback) is
 * computed from `amount`.
 */
@Entity({ name: 'payment_orders' })
export class PaymentOrder {
  @PrimaryGeneratedColumn({ type: 'bigint', unsigned: true })
  id!: number;

  @Column({ name: 'order_no', type: 'varchar', length: 64 })
  orderNo!: string;

  @Column({ type: 'varchar', length: 64 })
  openid!: string;

  @Column({ name: 'order_type', type: 'varchar', length: 16 })
  orderType!: OrderType;

  @Column({ type: 'decimal', precision: 10, scale: 2, transformer: decimalYuan })
  amount!: string;

  @Column({ name: 'amount_fen', type: 'int', nullable: true })
  amountFen!: number | null;

  @Column({ name: 'credits_amount', type: 'int', nullable: true })
  creditsAmount!: number | null;

  @Column({ type: 'varchar', length: 16, default: 'pending' })
  status!: OrderStatus;

  @Column({ name: 'pay_version', type: 'varchar', length: 8, nullable: true })
  payVersion!: 'v2' | 'v3' | null;

  @Column({ name: 'prepay_id', type: 'varchar', length: 128, nullable: true })
  prepayId!: string | null;

  @Column({ name: 'wx_payment_no', type: 'varchar', length: 64, nullable: true })
  wxPaymentNo!: string | null;

  @Column({ name: 'wx_transaction_id', type: 'varchar', length: 64, nullable: true })
  wxTransactionId!: string | null;

  @Column({ name: 'failure_reason', type: 'varchar', length: 255, nullable: true })
  failureReason!: string | null;

  @Column({ name: 'created_at', type: 'datetime', nullable: true })
  createdAt!: Date | null;

  @Column({ name: 'paid_at', type: 'datetime', nullable: true })
  paidAt!: Date | null;

  @Column({ name: 'expire_at', type: 'datetime', nullable: true })
  expireAt!: Date | null;

  @Column({ name: 'closed_at', type: 'datetime', nullable: true })
  closedAt!: Date | null;

  @Column({ name: 'last_queried_at', type: 'datetime', nullable: true })
  lastQueriedAt!: Date | null;
}
