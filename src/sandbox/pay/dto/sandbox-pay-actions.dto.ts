import { IsIn, IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { MAX_LATE_MS, MAX_REFUND_NOTIFY_COPIES } from '../../core/sandbox.constants';

export class PayActionDto {
  /** The prepay id, bare or as the JSAPI `package` (`prepay_id=…`). */
  @IsString()
  @Length(1, 128)
  prepay_id: string;

  @IsIn(['success', 'fail', 'cancel'])
  result: 'success' | 'fail' | 'cancel';

  @IsOptional()
  @IsIn(['now', 'never', 'duplicate', 'late'])
  notify?: 'now' | 'never' | 'duplicate' | 'late';

  /** `late`: how long to wait before the first attempt (default 2000). */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_LATE_MS)
  delay_ms?: number;

  /** `duplicate`: how many concurrent copies (default 3). */
  @IsOptional()
  @IsInt()
  @Min(2)
  @Max(10)
  copies?: number;
}

export class RenotifyActionDto {
  @IsOptional()
  @IsString()
  @Length(1, 128)
  prepay_id?: string;

  @IsOptional()
  @IsString()
  @Length(1, 64)
  out_trade_no?: string;
}

/** WeChat Pay finishes a refund (when still PROCESSING) and notifies the merchant. */
export class RefundActionDto {
  @IsString()
  @Length(1, 64)
  out_refund_no: string;

  /** Required while the refund is PROCESSING (`refund: manual`); otherwise it must match the result it has. */
  @IsOptional()
  @IsIn(['success', 'closed', 'abnormal'])
  result?: 'success' | 'closed' | 'abnormal';

  @IsOptional()
  @IsIn(['now', 'never', 'duplicate', 'late'])
  notify?: 'now' | 'never' | 'duplicate' | 'late';

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_LATE_MS)
  delay_ms?: number;

  /** `duplicate`: how many concurrent copies (default 3). */
  @IsOptional()
  @IsInt()
  @Min(2)
  @Max(MAX_REFUND_NOTIFY_COPIES)
  copies?: number;
}
