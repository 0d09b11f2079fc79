import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** `credits_usage` (legacy): consumption history as the pages and the desktop app show it. */
@Entity({ name: 'credits_usage' })
export class CreditsUsage {
  @PrimaryGeneratedColumn({ type: 'bigint', unsigned: true })
  id!: number;

  @Column({ type: 'varchar', length: 64 })
  openid!: string;

  @Column({ name: 'task_id', type: 'varchar', length: 64 })
  taskId!: string;

  @Column({ name: 'task_type', type: 'varchar', length: 32 })
  taskType!: string;

  @Column({ name: 'credits_used', type: 'int', default: 1 })
  creditsUsed!: number;

  @Column({ name: 'request_image_count', type: 'int', default: 1 })
  requestImageCount!: number;

  @Column({ name: 'success_image_count', type: 'int', default: 1 })
  successImageCount!: number;

  @Column({ name: 'created_at', type: 'datetime', nullable: true })
  createdAt!: Date | null;
}
