import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, Length, Matches, Max, MaxLength, Min } from 'class-validator';
import { CONSOLE_SCENE_PATTERN } from '../console-login-scene';
import { CLIENT_ID_DETAIL, CLIENT_ID_PATTERN, trimString } from '../../common/client-id';

const OPENID = /^[A-Za-z0-9_-]{1,64}$/;
const clientIdRule = { message: 'invalid', context: { detail: CLIENT_ID_DETAIL } };

export class CreateOrUpdateUserDto {
  @Matches(OPENID) openid!: string;
  @IsIn(['subscribe', 'scan', 'oauth', 'unsubscribe']) source!: 'subscribe' | 'scan' | 'oauth' | 'unsubscribe';
  @IsOptional() @IsISO8601() event_time?: string;
}

export class CreateBindingDto {
  @Transform(trimString) @Matches(CLIENT_ID_PATTERN, clientIdRule) client_id!: string;
}

export class UpdateBindingDto {
  @IsString() @Length(1, 64) scene!: string;
  @Matches(OPENID) openid!: string;
  @IsIn(['subscribe', 'scan']) event!: 'subscribe' | 'scan';
}

export class ApplyPaymentDto {
  @IsString() @Length(1, 64) order_no!: string;
  @IsIn(['paid', 'failed', 'closed']) status!: 'paid' | 'failed' | 'closed';
  @IsOptional() @IsString() @Length(1, 64) transaction_id?: string;
  @IsOptional() @IsInt() @Min(0) @Max(100_000_000) total_fen?: number;
  @IsOptional() @Matches(OPENID) payer_openid?: string;
  @IsOptional() @IsISO8601() paid_at?: string;
  @IsOptional() @IsString() @MaxLength(65536) raw?: string;
}

export class ApplyRefundDto {
  @IsString() @Length(1, 64) refund_no!: string;
  @IsString() @Length(1, 64) order_no!: string;
  @IsIn(['success', 'closed', 'abnormal']) status!: 'success' | 'closed' | 'abnormal';
  @IsInt() @Min(1) @Max(100_000_000) refund_fen!: number;
  @IsInt() @Min(1) @Max(100_000_000) total_fen!: number;
  @IsOptional() @IsString() @Length(1, 64) wx_refund_id?: string;
  @IsOptional() @IsISO8601() success_time?: string;
  @IsOptional() @IsString() @MaxLength(65536) raw?: string;
}

export class ClaimNonceDto {
  @Matches(/^\d{1,12}$/) timestamp!: string;
  @IsString() @Length(1, 64) nonce!: string;
  @Matches(/^[0-9a-f]{64}$/) body_sha256!: string;
}

export class ApplyPushDto extends ClaimNonceDto {
  @IsOptional() @Matches(OPENID) openid?: string;
  @IsOptional() @IsIn(['subscribe', 'scan', 'unsubscribe']) source?: 'subscribe' | 'scan' | 'unsubscribe';
  @IsOptional() @IsISO8601() event_time?: string;
  @IsOptional() @IsString() @Length(1, 64) scene?: string;
}

export class ConsumeCreditsDto {
  @IsOptional() @Matches(OPENID) openid?: string;
  @IsOptional() @Transform(trimString) @Matches(CLIENT_ID_PATTERN, clientIdRule) client_id?: string;
  @IsString() @Length(1, 64) task_id!: string;
  @IsString() @Length(1, 32) task_type!: string;
  @IsInt() @Min(1) @Max(100000) amount!: number;
  @IsOptional() @IsInt() @Min(0) @Max(100000) request_image_count?: number;
  @IsOptional() @IsInt() @Min(0) @Max(100000) success_image_count?: number;
}

export class RefundCreditsDto {
  @IsOptional() @Matches(OPENID) openid?: string;
  @IsOptional() @Transform(trimString) @Matches(CLIENT_ID_PATTERN, clientIdRule) client_id?: string;
  @IsString() @Length(1, 64) task_id!: string;
  @IsString() @Length(1, 32) task_type!: string;
  @IsOptional() @IsInt() @Min(1) @Max(100000) amount?: number;
}

export class ConsoleLoginDto {
  @Matches(CONSOLE_SCENE_PATTERN) scene!: string;
  @Matches(OPENID) openid!: string;
}
