import { Controller, Delete, Get, Logger, Param, ParseIntPipe, Query, UseGuards } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags, ApiTooManyRequestsResponse } from '@nestjs/swagger';
import { SkipThrottle, ThrottlerGuard } from '@nestjs/throttler';
import type { Caller } from './caller-identity.service';
import { CurrentCaller, RequireCaller } from './caller';
import { CreditsLedgerQueryDto, CreditsUsageQueryDto } from './dto/user-query.dto';
import { CreditsLedgerResponseDto, CreditsResponseDto, CreditsUsageResponseDto, MemberStatusResponseDto } from './dto/user-responses.dto';
import { DomainError } from '../common/errors';
import { maskId } from '../common/redact';
import { toIsoShanghai } from '../common/time-format';
import { BindingService } from './binding.service';
import { UserQueryService } from './user-query.service';

/**
 * Credits and membership for the pages (session token) and the shipped desktop app (client_id).
 * Rate limited per IP (`RATE_LIMIT_PER_MINUTE`); the per-client QR limit does not apply here.
 */
@ApiTags('user')
@ApiTooManyRequestsResponse({ description: '`请求过于频繁，请稍后再试`' })
@UseGuards(ThrottlerGuard)
@SkipThrottle({ qrPerClient: true })
@Controller('api/v1/user')
export class UserController {
  private readonly logger = new Logger(UserController.name);

  constructor(
    private readonly users: UserQueryService,
    private readonly bindings: BindingService,
  ) {}

  @Get('credits')
  @RequireCaller({ allowClientId: true })
  @ApiOperation({ summary: 'Balance, membership and follow state of the caller' })
  @ApiOkResponse({ type: CreditsResponseDto })
  credits(@CurrentCaller() caller: Caller): CreditsResponseDto {
    return this.users.credits(caller.user);
  }

  @Get('member-status')
  @RequireCaller({ allowClientId: true })
  @ApiOperation({ summary: 'Membership of the caller' })
  @ApiOkResponse({ type: MemberStatusResponseDto })
  memberStatus(@CurrentCaller() caller: Caller): MemberStatusResponseDto {
    return this.users.memberStatus(caller.user);
  }

  @Get('credits-usage')
  @RequireCaller({ allowClientId: true })
  @ApiOperation({ summary: 'Consumption history of the caller, newest first' })
  @ApiOkResponse({ type: CreditsUsageResponseDto })
  @ApiBadRequestResponse({ description: '`limit: must be 1-100`, `before_id: must be a positive integer`, `client_id格式错误`' })
  creditsUsage(@CurrentCaller() caller: Caller, @Query() q: CreditsUsageQueryDto): Promise<CreditsUsageResponseDto> {
    return this.users.creditsUsage(caller.openid, { limit: q.limit, beforeId: q.before_id });
  }

  @Get('credits-ledger')
  @RequireCaller({ allowClientId: false })
  @ApiOperation({ summary: 'Every credit change of the caller (session token only), newest first' })
  @ApiOkResponse({ type: CreditsLedgerResponseDto })
  @ApiBadRequestResponse({ description: '`limit: must be 1-100`, `before_id: must be a positive integer`' })
  creditsLedger(@CurrentCaller() caller: Caller, @Query() q: CreditsLedgerQueryDto): Promise<CreditsLedgerResponseDto> {
    return this.users.creditsLedger(caller.openid, { limit: q.limit, beforeId: q.before_id });
  }

  @Get('devices')
  @RequireCaller({ allowClientId: false })
  @ApiOperation({ summary: "The caller's bound desktops (client ids shortened: they are bearer keys)" })
  async devices(@CurrentCaller() caller: Caller) {
    const rows = await this.bindings.listForOpenid(caller.openid);
    return {
      success: true,
      devices: rows.map((b) => ({ id: b.id, client: shortClientId(b.clientId), bound_at: toIsoShanghai(b.completedAt) })),
    };
  }

  @Delete('devices/:id')
  @RequireCaller({ allowClientId: false })
  @ApiOperation({ summary: "Unbind one of the caller's desktops; it must scan a new code to be used again" })
  async unbind(
    @CurrentCaller() caller: Caller,
    @Param('id', new ParseIntPipe({ exceptionFactory: () => new DomainError(404, '设备不存在') })) id: number,
  ) {
    if (!(await this.bindings.unbind(caller.openid, id))) throw new DomainError(404, '设备不存在');
    this.logger.log(`binding ${id} unbound by ${maskId(caller.openid)}`);
    return { success: true };
  }
}

/** "PC_1730000000000_legacy01" → "PC_1730…cy01" (docs/ops.md: first 7 and last 4 characters). */
export function shortClientId(clientId: string): string {
  // Short ids would be shown almost whole by that rule: keep less of them.
  return clientId.length <= 11 ? `${clientId.slice(0, 2)}…${clientId.slice(-2)}` : `${clientId.slice(0, 7)}…${clientId.slice(-4)}`;
}
