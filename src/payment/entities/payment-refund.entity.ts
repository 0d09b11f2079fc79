import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/**
 * `pending`: recorded, WeChat's answer not (yet) known — a retry resends the same refund_no;
 * `processing`: accepted by WeChat; `success` / `closed` / `abnormal`: WeChat's result;
 * `failed`: WeChat refused the request (nothing was refunded).
 */
export type RefundStatus = 'pending' | 'processing' | 'success' | 'closed' | 'abnormal' | 'failed';

/** `payment_refunds`: one row per refund asked of WeChat Pay; refund_no and request_id unique. */
@Entity({ name: 'payment_refunds' })
export class PaymentRefund {
  @PrimaryGeneratedColumn({ type: 'bigint', unsigned: true })
  id!: number;

  @Column({ name: 'refund_no', type: 'varchar', length: 64 })
  refundNo!: string;

  @Column({ name: 'request_id', type: 'varchar', length: 128 })
  requestId!: string;

  @Column({ name: 'order_no', type: 'varchar', length: 64 })
  orderNo!: string;

  @Column({ type: 'varchar', length: 64 })
  openid!: string;

  @Column({ name: 'amount_fen', type: 'int' })
  amountFen!: number;

  @Column({ name: 'total_fen', type: 'int' })
  totalFen!: number;

  @Column({ type: 'varchar', length: 16, default: 'pending' })
  status!: RefundStatus;

  @Column({ name: 'pay_version', type: 'varchar', length: 8, nullable: true })
  payVersion!: 'v2' | 'v3' | null;

  @Column({ name: 'wx_refund_id', type: 'varchar', length: 64, nullable: true })
  wxRefundId!: string | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  note!: string | null;

  /** Credits this refund should take back (proportional, rounded up) and what the balance allowed. */
  @Column({ name: 'credits_due', type: 'int', nullable: true })
  creditsDue!: number | null;

  @Column({ name: 'credits_taken', type: 'int', nullable: true })
  creditsTaken!: number | null;

  @Column({ name: 'failure_reason', type: 'varchar', length: 255, nullable: true })
  failureReason!: string | null;

  /** WeChat's decrypted refund result; cleared after NOTIFY_DATA_RETENTION_DAYS. */
  @Column({ type: 'text', nullable: true })
  raw!: string | null;

  @Column({ name: 'created_at', type: 'datetime' })
  createdAt!: Date;

  @Column({ name: 'completed_at', type: 'datetime', nullable: true })
  completedAt!: Date | null;

  @Column({ name: 'last_queried_at', type: 'datetime', nullable: true })
  lastQueriedAt!: Date | null;
}
