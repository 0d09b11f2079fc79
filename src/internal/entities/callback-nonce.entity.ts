import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { bigintId } from '../../database/column-types';

/** `wechat_callback_nonces`: replay guard of pushes; purged after 2 × CALLBACK_MAX_SKEW_SECONDS (+1 min). */
@Entity({ name: 'wechat_callback_nonces' })
export class CallbackNonce {
  @PrimaryGeneratedColumn({ type: 'bigint', unsigned: true })
  id!: number;

  @Column({ type: 'bigint', transformer: bigintId })
  timestamp!: number;

  @Column({ type: 'varchar', length: 64 })
  nonce!: string;

  @Column({ name: 'body_sha256', type: 'varchar', length: 64 })
  bodySha256!: string;

  @Column({ name: 'created_at', type: 'datetime' })
  createdAt!: Date;
}
