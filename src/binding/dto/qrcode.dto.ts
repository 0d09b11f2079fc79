import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { Matches } from 'class-validator';
import { CLIENT_ID_DETAIL, CLIENT_ID_PATTERN, trimString } from '../../common/client-id';

const clientIdRule = { message: 'invalid', context: { detail: CLIENT_ID_DETAIL } };
const clientIdDoc = {
  description: "The desktop app's id (trimmed; 1-128 chars of A-Z a-z 0-9 _ . : -). A bearer key: whoever knows it can spend its credits.",
  example: 'desktop-7f3c2a9e',
};

/** Body of `POST /auth/wechat/qrcode` (other fields are ignored). */
export class QrCodeRequestDto {
  @ApiProperty(clientIdDoc)
  @Transform(trimString)
  @Matches(CLIENT_ID_PATTERN, clientIdRule)
  client_id!: string;
}

/** Query of `GET /auth/wechat/check-follow`. */
export class CheckFollowQueryDto {
  @ApiProperty(clientIdDoc)
  @Transform(trimString)
  @Matches(CLIENT_ID_PATTERN, clientIdRule)
  client_id!: string;
}

export class QrCodeResponseDto {
  @ApiProperty({ example: true }) success!: true;
  @ApiProperty({ description: 'The code as an image on the mp host (showqrcode, ticket url-encoded)' }) qrcode_url!: string;
  @ApiProperty({ description: "WeChat's `url` field: the content to render as a QR code locally", example: 'http://weixin.qq.com/q/02abc' })
  qrcode_content!: string;
  @ApiProperty() ticket!: string;
  @ApiProperty({ example: 'desktop-7f3c2a9e' }) client_id!: string;
  @ApiProperty({ description: "Id of the client's binding row", example: 42 }) scene_id!: number;
  @ApiProperty({ example: 'bind_Xq3v9T0b_Lk2mN8pQr4s' }) scene_str!: string;
  @ApiProperty({ description: 'Seconds the code stays valid from now (its full lifetime when just created)', example: 1800 })
  expire_seconds!: number;
  @ApiProperty({ example: '2025-11-19T12:46:29+08:00' }) expire_at!: string;
}

export class FollowStatusResponseDto {
  @ApiProperty({ example: true }) success!: true;
  @ApiProperty({ description: "True when the client's binding has an openid whose user currently follows the account" })
  subscribed!: boolean;
  @ApiPropertyOptional({
    description: 'When the binding was (last) completed, "YYYY-MM-DD HH:mm:ss" Asia/Shanghai; only when subscribed',
    example: '2025-11-19 12:46:29',
  })
  completed_at?: string | null;
  @ApiProperty({
    description: "Expiry of the client's newest QR code, or null when it never asked for one",
    nullable: true,
    type: String,
    example: '2025-11-19T13:16:29+08:00',
  })
  qr_expire_at!: string | null;
}
