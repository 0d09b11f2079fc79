import { ApiProperty } from '@nestjs/swagger';
import { LEDGER_REASONS, LedgerReason } from '../entities/credit-ledger.entity';

/**
 * Response bodies of `/api/v1/user/*` (docs/api.md "User"). Built field by field from read models,
 * never from entities. Datetimes: legacy "YYYY-MM-DD HH:mm:ss" (Asia/Shanghai) on the endpoints the
 * shipped desktop app reads; ISO 8601 with +08:00 on the ledger.
 */
export class CreditsResponseDto {
  @ApiProperty({ example: true }) success!: boolean;
  @ApiProperty({ example: 20 }) total_credits!: number;
  @ApiProperty({ example: 3 }) used_credits!: number;
  @ApiProperty({ example: 17 }) remaining_credits!: number;
  @ApiProperty({ example: true }) is_member!: boolean;
  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description: 'null for lifetime members; "YYYY-MM-DD HH:mm:ss" (Asia/Shanghai) otherwise',
  })
  member_expire_at!: string | null;
  @ApiProperty({ example: true, description: 'The user currently follows the official account' }) is_followed!: boolean;
}

export class MemberStatusResponseDto {
  @ApiProperty({ example: true }) success!: boolean;
  @ApiProperty({ example: true }) is_member!: boolean;
  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description: 'null for lifetime members; "YYYY-MM-DD HH:mm:ss" (Asia/Shanghai) otherwise',
  })
  member_expire_at!: string | null;
}

export class CreditsUsageItemDto {
  @ApiProperty({ example: 42 }) id!: number;
  @ApiProperty({ example: 'task-123' }) task_id!: string;
  @ApiProperty({ example: 'classify' }) task_type!: string;
  @ApiProperty({ example: 1 }) credits_used!: number;
  @ApiProperty({ example: 1 }) request_image_count!: number;
  @ApiProperty({ example: 1 }) success_image_count!: number;
  @ApiProperty({ type: String, nullable: true, example: '2025-11-19 12:46:29', description: '"YYYY-MM-DD HH:mm:ss" (Asia/Shanghai)' })
  created_at!: string | null;
}

export class CreditsUsageResponseDto {
  @ApiProperty({ example: true }) success!: boolean;
  @ApiProperty({ example: 1, description: 'Entries in this page' }) count!: number;
  @ApiProperty({ type: [CreditsUsageItemDto], description: 'Newest first' }) data!: CreditsUsageItemDto[];
}

export class LedgerEntryDto {
  @ApiProperty({ example: 7 }) id!: number;
  @ApiProperty({ example: -1, description: 'Signed change of remaining credits' }) delta!: number;
  @ApiProperty({ example: 16 }) balance_after!: number;
  @ApiProperty({ enum: LEDGER_REASONS, example: 'consume' }) reason!: LedgerReason;
  @ApiProperty({ example: 'classify:task-123', description: 'What the entry is about: order number, task_type:task_id, …' }) ref!: string;
  @ApiProperty({ example: '2025-11-19T12:46:29+08:00' }) created_at!: string;
}

export class CreditsLedgerResponseDto {
  @ApiProperty({ example: true }) success!: boolean;
  @ApiProperty({ type: [LedgerEntryDto], description: 'Newest first' }) data!: LedgerEntryDto[];
}
