import { Transform } from 'class-transformer';
import { IsInt, IsISO8601, IsOptional, IsString, Length, Matches, Max, Min, NotEquals } from 'class-validator';
import { CLIENT_ID_DETAIL, CLIENT_ID_PATTERN, trimString } from '../../common/client-id';

export class UserLookupQueryDto {
  @IsOptional() @Matches(/^[A-Za-z0-9_-]{1,64}$/) openid?: string;
  @IsOptional() @Transform(trimString) @Matches(CLIENT_ID_PATTERN, { context: { detail: CLIENT_ID_DETAIL } }) client_id?: string;
  @IsOptional() @IsString() @Length(1, 64) order_no?: string;
}

export class CreditsAdjustDto {
  @Matches(/^[A-Za-z0-9_-]{1,64}$/) openid!: string;
  @IsInt() @NotEquals(0) @Min(-1_000_000) @Max(1_000_000) delta!: number;
  @IsString() @Length(1, 500) note!: string;
  /** Idempotency key: a retried request applies once. */
  @IsString() @Length(1, 100) request_id!: string;
}

export class AnomaliesQueryDto {
  @IsOptional() @IsISO8601() since?: string;
}
