import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { decimalYuan } from '../../database/column-types';

/** `payment_records` (legacy): exactly one row per applied payment (UNIQUE transaction_id). */
@Entity({ name: 'payment_records' })
export class PaymentRecord {
  @PrimaryGeneratedColumn({ type: 'bigint', unsigned: true })
  id!: number;

  @Column({ name: 'order_no', type: 'varchar', length: 64 })
  orderNo!: string;

  @Column({ type: 'varchar', length: 64 })
  openid!: string;

  @Column({ name: 'transaction_id', type: 'varchar', length: 64 })
  transactionId!: string;

  @Column({ type: 'decimal', precision: 10, scale: 2, transformer: decimalYuan })
  amount!: string;

  @Column({ name: 'payment_method', type: 'varchar', length: 32, default: 'wechat_pay' })
  paymentMethod!: string;

  @Column({ name: 'payment_time', type: 'datetime' })
  paymentTime!: Date;

  @Column({ name: 'notify_data', type: 'text', nullable: true })
  notifyData!: string | null;

  @Column({ name: 'created_at', type: 'datetime', nullable: true })
  createdAt!: Date | null;
}
