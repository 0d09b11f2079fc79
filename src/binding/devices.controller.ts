import { Controller, Delete, Get, Logger, Param, ParseIntPipe } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { DomainError } from '../common/errors';
import { maskId } from '../common/redact';
import { toIsoShanghai } from '../common/time-format';
import type { Caller } from '../user/caller';
import { CurrentCaller, RequireCaller } from '../user/caller';
import { BindingService } from './binding.service';
import { LimitedPerIp } from '../common/limited-per-ip';

/**
 * A member's bound desktops (credits_info.html), under the user prefix the pages call. Session
 * token only; rate limited per IP (`RATE_LIMIT_PER_MINUTE`) like the other user endpoints.
 */
@ApiTags('user')
@LimitedPerIp()
@Controller('api/v1/user')
export class DevicesController {
  private readonly logger = new Logger(DevicesController.name);

  constructor(private readonly bindings: BindingService) {}

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
