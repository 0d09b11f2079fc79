import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export const LEDGER_REASONS = [
  'opening_balance',
  'signup_bonus',
  'purchase',
  'member_bonus',
  'consume',
  'refund',
  'admin_adjust',
  'payment_refund',
] as const;
export type LedgerReason = (typeof LEDGER_REASONS)[number];

/**
 * `credit_ledger`: one row per credit change. UNIQUE (reason, ref) is what makes every grant and
 * charge happen at most once.
 */
@Entity({ name: 'credit_ledger' })
export class CreditLedgerEntry {
  @PrimaryGeneratedColumn({ type: 'bigint', unsigned: true })
  id!: number;

  @Column({ type: 'varchar', length: 64 })
  openid!: string;

  @Column({ type: 'int' })
  delta!: number;

  @Column({ name: 'balance_after', type: 'int' })
  balanceAfter!: number;

  @Column({ type: 'varchar', length: 32 })
  reason!: LedgerReason;

  @Column({ type: 'varchar', length: 128 })
  ref!: string;

  /** Consume/refund entries: the task (binary collation; UNIQUE (reason, task_type, task_id, openid)). */
  @Column({ name: 'task_type', type: 'varchar', length: 32, nullable: true })
  taskType!: string | null;

  @Column({ name: 'task_id', type: 'varchar', length: 128, nullable: true })
  taskId!: string | null;

  @Column({ name: 'created_at', type: 'datetime' })
  createdAt!: Date;
}
