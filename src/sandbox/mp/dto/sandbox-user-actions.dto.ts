import { IsBoolean, IsOptional, IsString, Length, Matches } from 'class-validator';
import { OPENID_PATTERN } from '../../core/sandbox.constants';

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
