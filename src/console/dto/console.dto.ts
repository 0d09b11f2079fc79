import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, Length, Matches, Max, Min, NotEquals } from 'class-validator';
import { CLIENT_ID_DETAIL, CLIENT_ID_PATTERN, trimString } from '../../common/client-id';

const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value);
/** The console's idempotency keys come from the page (crypto.randomUUID()). */
const REQUEST_ID = /^[A-Za-z0-9_.:-]{8,100}$/;

export class DashboardQueryDto {
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(90) days?: number;
}

export class ConsoleUserQueryDto {
  @IsOptional() @Matches(/^[A-Za-z0-9_-]{1,64}$/) openid?: string;
  @IsOptional() @Transform(trimString) @Matches(CLIENT_ID_PATTERN, { context: { detail: CLIENT_ID_DETAIL } }) client_id?: string;
  @IsOptional() @IsString() @Length(1, 64) order_no?: string;
}

export class ConsoleAdjustDto {
  @Matches(/^[A-Za-z0-9_-]{1,64}$/) openid!: string;
  @IsInt() @NotEquals(0) @Min(-1_000_000) @Max(1_000_000) delta!: number;
  /** The reason is required: it is what the next operator reads. */
  @IsString() @Transform(trimString) @Length(2, 500, { message: 'a reason of 2-500 characters is required' }) reason!: string;
  @Matches(REQUEST_ID) request_id!: string;
}

export class ConsoleUnbindDto {
  @Matches(/^[A-Za-z0-9_-]{1,64}$/) openid!: string;
  @IsInt() @Min(1) binding_id!: number;
}

export class RefundPreviewQueryDto {
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100_000_000) amount_fen?: number;
}

export class ConsoleRefundDto {
  @IsOptional() @IsInt() @Min(1) @Max(100_000_000) amount_fen?: number;
  @IsString() @Transform(trimString) @Length(2, 255, { message: 'a reason of 2-255 characters is required' }) note!: string;
  @Matches(REQUEST_ID) request_id!: string;
}

export class AnomalyListQueryDto {
  @IsOptional() @IsIn(['open', 'resolved', 'all']) status?: 'open' | 'resolved' | 'all';
  @IsOptional() @Matches(/^[a-z_]{1,32}$/) kind?: string;
  @IsOptional() @IsString() @Length(1, 64) order_no?: string;
  @IsOptional() @IsISO8601() since?: string;
}

export class ResolveAnomalyDto {
  @IsString() @Transform(trimString) @Length(2, 500, { message: 'a note of 2-500 characters is required' }) note!: string;
}

export class AuditQueryDto {
  @IsOptional() @IsString() @Length(1, 128) target?: string;
}
