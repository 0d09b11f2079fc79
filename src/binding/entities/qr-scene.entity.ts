import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** `wechat_qr_scenes`: every temporary QR_STR_SCENE code handed out (purged a day after expiry). */
@Entity({ name: 'wechat_qr_scenes' })
export class QrScene {
  @PrimaryGeneratedColumn({ type: 'bigint', unsigned: true })
  id!: number;

  @Column({ name: 'scene_str', type: 'varchar', length: 64 })
  sceneStr!: string;

  @Column({ name: 'client_id', type: 'varchar', length: 128 })
  clientId!: string;

  @Column({ type: 'varchar', length: 255 })
  ticket!: string;

  @Column({ name: 'qrcode_content', type: 'varchar', length: 255 })
  qrcodeContent!: string;

  @Column({ name: 'expire_at', type: 'datetime' })
  expireAt!: Date;

  @Column({ name: 'created_at', type: 'datetime' })
  createdAt!: Date;
}
