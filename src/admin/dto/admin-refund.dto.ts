import { IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';

/** `POST /api/v1/admin/orders/:order_no/refund`. */
export class AdminRefundDto {
  /** Default: all that is left of the order (the full amount the first time). */
  @IsOptional()
  @IsInt({ message: 'must be an integer number of fen' })
  @Min(1, { message: 'must be at least 1' })
  @Max(100_000_000, { message: 'too large' })
  amount_fen?: number;

  /** Why (kept with the refund; its first 80 characters are shown to the payer by WeChat). */
  @IsString({ message: '1-255 characters' })
  @Length(1, 255, { message: '1-255 characters' })
  note!: string;

  /** The caller's idempotency key: the same request_id again never refunds twice. */
  @IsString({ message: '1-128 characters of [A-Za-z0-9_.:-]' })
  @Matches(/^[A-Za-z0-9_.:-]{1,128}$/, { message: '1-128 characters of [A-Za-z0-9_.:-]' })
  request_id!: string;
}

export class ReconcileQueryDto {
  @IsString({ message: 'must be YYYY-MM-DD' })
  @Matches(/^\d{4}-\d{2}-\d{2}$/, { message: 'must be YYYY-MM-DD' })
  date!: string;
}
