import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type AnomalyKind =
  | 'amount_mismatch'
  | 'payer_mismatch'
  | 'paid_after_close'
  | 'duplicate_membership'
  | 'unknown_order'
  // A paid result whose transaction_id already paid another order.
  | 'transaction_reused'
  // Refunds (docs/ops.md): credits the balance could not give back, WeChat results we cannot match or act on.
  | 'refund_shortfall'
  | 'unknown_refund'
  | 'refund_mismatch'
  | 'refund_closed'
  | 'refund_abnormal'
  // The daily trade-bill comparison.
  | 'bill_paid_not_here'
  | 'bill_not_paid_at_wechat'
  | 'bill_amount_mismatch'
  | 'bill_refund_not_here';

/** `payment_anomalies`: what support must look at (refund candidates, forged or odd payments). */
@Entity({ name: 'payment_anomalies' })
export class PaymentAnomaly {
  @PrimaryGeneratedColumn({ type: 'bigint', unsigned: true })
  id!: number;

  @Column({ name: 'order_no', type: 'varchar', length: 64 })
  orderNo!: string;

  @Column({ type: 'varchar', length: 32 })
  kind!: AnomalyKind;

  @Column({ type: 'text', nullable: true })
  detail!: string | null;

  @Column({ name: 'created_at', type: 'datetime' })
  createdAt!: Date;
}
