import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { MAX_LATE_MS, MAX_REFUND_NOTIFY_COPIES, OPENID_PATTERN } from '../sandbox.constants';

const OPENID_MESSAGE = { message: 'openid: 1-64 letters, digits, "-" or "_"' };

export class OpenidActionDto {
  @IsString()
  @Matches(OPENID_PATTERN, OPENID_MESSAGE)
  openid: string;

  /** Default true: retry like WeChat when the app does not answer or answers 5xx. */
  @IsOptional()
  @IsBoolean()
  retry?: boolean;
}

export class ScanActionDto extends OpenidActionDto {
  /** The ticket from `qrcode/create` (what the phone camera reads). */
  @IsOptional()
  @IsString()
  @Length(1, 512)
  ticket?: string;

  /** Without a ticket: the scene to push directly (e.g. a legacy permanent code `123`). */
  @IsOptional()
  @IsString()
  @Length(1, 64)
  scene?: string;

  /** Whether the user already follows the account; default: what the sandbox remembers. */
  @IsOptional()
  @IsBoolean()
  subscribed?: boolean;

  /** Push even when the ticket has expired (WeChat itself would only show "expired" on the phone). */
  @IsOptional()
  @IsBoolean()
  force?: boolean;
}

export class TextActionDto extends OpenidActionDto {
  @IsString()
  @Length(1, 2048)
  content: string;
}

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

export class ClockDto {
  @IsInt()
  @Min(-366 * 86400)
  @Max(366 * 86400)
  advance_seconds: number;
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
