import { Body, Controller, Get, HttpCode, Post, Query, UseGuards } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminKeyGuard } from '../common/admin-key.guard';
import { AnomaliesQueryDto, CreditsAdjustDto, UserLookupQueryDto } from './dto/support.dto';
import { SupportService } from './support.service';

/** Support tools (docs/ops.md), behind `X-Admin-Key`. Every change is logged with what it changed. */
@ApiTags('admin')
@ApiHeader({ name: 'X-Admin-Key', required: true })
@UseGuards(AdminKeyGuard)
@Controller('api/v1/admin')
export class AdminSupportController {
  constructor(private readonly support: SupportService) {}

  @Get('users')
  @ApiOperation({ summary: 'A user by openid, client_id or order_no: bindings, last 20 orders, last 50 ledger entries, anomalies' })
  users(@Query() q: UserLookupQueryDto) {
    return this.support.lookup(q);
  }

  @Post('credits/adjust')
  @HttpCode(200)
  @ApiOperation({ summary: 'Manual credit adjustment (admin_adjust ledger entry), once per request_id, never below zero' })
  adjust(@Body() dto: CreditsAdjustDto) {
    return this.support.adjust(dto);
  }

  @Get('anomalies')
  @ApiOperation({ summary: 'Payment anomalies since a time (default 30 days), newest first' })
  anomalies(@Query() q: AnomaliesQueryDto) {
    return this.support.anomalies(q.since);
  }
}
