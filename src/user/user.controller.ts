import { Controller, Get, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Caller } from './caller-identity.service';
import { CurrentCaller, RequireCaller } from './caller';
import { CreditsLedgerQueryDto, CreditsUsageQueryDto } from './dto/user-query.dto';
import { CreditsLedgerResponseDto, CreditsResponseDto, CreditsUsageResponseDto, MemberStatusResponseDto } from './dto/user-responses.dto';
import { UserQueryService } from './user-query.service';
import { LimitedPerIp } from '../common/limited-per-ip';

/**
 * Credits and membership for the pages (session token) and the shipped desktop app (client_id).
 * Rate limited per IP (`RATE_LIMIT_PER_MINUTE`); the per-client QR limit does not apply here.
 */
@ApiTags('user')
@LimitedPerIp()
@Controller('api/v1/user')
export class UserController {
  constructor(private readonly users: UserQueryService) {}

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
}
