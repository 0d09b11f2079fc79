import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** `reconciliation_runs`: the daily comparison of one bill date, claimed by one process at a time. */
@Entity({ name: 'reconciliation_runs' })
export class ReconciliationRun {
  @PrimaryGeneratedColumn({ type: 'bigint', unsigned: true })
  id!: number;

  @Column({ name: 'bill_date', type: 'varchar', length: 10 })
  billDate!: string;

  /** `running` (claimed until lease_until) or `done`. */
  @Column({ type: 'varchar', length: 16 })
  status!: 'running' | 'done';

  @Column({ name: 'claim_token', type: 'varchar', length: 64, nullable: true })
  claimToken!: string | null;

  @Column({ name: 'lease_until', type: 'datetime', nullable: true })
  leaseUntil!: Date | null;

  @Column({ name: 'started_at', type: 'datetime', nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: 'datetime', nullable: true })
  finishedAt!: Date | null;

  @Column({ type: 'int', nullable: true })
  differences!: number | null;

  @Column({ type: 'text', nullable: true })
  detail!: string | null;
}
