import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { boolInt } from '../../database/column-types';

export type BindingStatus = 'pending' | 'completed' | 'expired';

/**
 * `wechat_qrcode_bindings` (legacy): one row per desktop client_id. Rows from the old service
 * (`legacy_scene`) also answer to their permanent integer QR scene (= id).
 */
@Entity({ name: 'wechat_qrcode_bindings' })
export class QrcodeBinding {
  @PrimaryGeneratedColumn({ type: 'bigint', unsigned: true })
  id!: number;

  @Column({ name: 'client_id', type: 'varchar', length: 128 })
  clientId!: string;

  @Column({ name: 'scene_id', type: 'int', default: 0 })
  sceneId!: number;

  @Column({ type: 'varchar', length: 64, nullable: true })
  openid!: string | null;

  @Column({ type: 'varchar', length: 16, default: 'pending' })
  status!: BindingStatus;

  @Column({ name: 'legacy_scene', type: 'tinyint', transformer: boolInt, default: 0 })
  legacyScene!: boolean;

  @Column({ name: 'created_at', type: 'datetime', nullable: true })
  createdAt!: Date | null;

  @Column({ name: 'completed_at', type: 'datetime', nullable: true })
  completedAt!: Date | null;
}
