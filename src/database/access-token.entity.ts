import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * `wechat_access_tokens`: the one access token every process shares (WeChat's daily quota is 2000
 * and a new token invalidates the old one). `refreshing_until` is the refresh lease.
 */
@Entity({ name: 'wechat_access_tokens' })
export class WechatAccessToken {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  appid!: string;

  @Column({ name: 'access_token', type: 'varchar', length: 1024, nullable: true })
  accessToken!: string | null;

  @Column({ name: 'expires_at', type: 'datetime', nullable: true })
  expiresAt!: Date | null;

  @Column({ name: 'refreshing_until', type: 'datetime', nullable: true })
  refreshingUntil!: Date | null;

  @Column({ name: 'updated_at', type: 'datetime', nullable: true })
  updatedAt!: Date | null;
}
