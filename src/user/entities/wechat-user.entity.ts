import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { boolInt, decimalYuan } from '../../database/column-types';

/** `wechat_users` (legacy table, extended). Balances change only together with a ledger entry. */
@Entity({ name: 'wechat_users' })
export class WechatUser {
  @PrimaryGeneratedColumn({ type: 'bigint', unsigned: true })
  id!: number;

  @Column({ type: 'varchar', length: 64 })
  openid!: string;

  @Column({ type: 'varchar', length: 64, nullable: true })
  unionid!: string | null;

  @Column({ type: 'varchar', length: 128, nullable: true })
  nickname!: string | null;

  @Column({ name: 'avatar_url', type: 'varchar', length: 512, nullable: true })
  avatarUrl!: string | null;

  @Column({ name: 'is_member', type: 'tinyint', transformer: boolInt, default: 0 })
  isMember!: boolean;

  @Column({ name: 'member_expire_at', type: 'datetime', nullable: true })
  memberExpireAt!: Date | null;

  @Column({ name: 'member_lifetime', type: 'tinyint', transformer: boolInt, default: 0 })
  memberLifetime!: boolean;

  @Column({ name: 'total_paid_amount', type: 'decimal', precision: 10, scale: 2, transformer: decimalYuan, default: 0 })
  totalPaidAmount!: string;

  @Column({ name: 'total_credits', type: 'int', default: 0 })
  totalCredits!: number;

  @Column({ name: 'used_credits', type: 'int', default: 0 })
  usedCredits!: number;

  @Column({ name: 'remaining_credits', type: 'int', default: 0 })
  remainingCredits!: number;

  @Column({ type: 'tinyint', transformer: boolInt, default: 1 })
  subscribed!: boolean;

  @Column({ name: 'subscribe_time', type: 'datetime', nullable: true })
  subscribeTime!: Date | null;

  @Column({ name: 'unsubscribed_at', type: 'datetime', nullable: true })
  unsubscribedAt!: Date | null;

  @Column({ name: 'last_active_time', type: 'datetime', nullable: true })
  lastActiveTime!: Date | null;

  @Column({ name: 'created_at', type: 'datetime', nullable: true })
  createdAt!: Date | null;

  @Column({ name: 'updated_at', type: 'datetime', nullable: true })
  updatedAt!: Date | null;
}
