import { Body, Controller, Get, HttpCode, Param, Post, Put, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { normalizeClientId } from '../common/client-id';
import {
  ApplyPaymentDto,
  ApplyPushDto,
  ApplyRefundDto,
  ClaimNonceDto,
  ConsoleLoginDto,
  ConsumeCreditsDto,
  CreateBindingDto,
  CreateOrUpdateUserDto,
  RefundCreditsDto,
  UpdateBindingDto,
} from './dto/internal.dto';
import { InternalAuthGuard } from './internal-auth.guard';
import { InternalService } from './internal.service';

/**
 * `/api/v1/internal/*` (docs/internal.md): HMAC-authenticated, never reachable through the proxies.
 * Served by roles `app` and `all` (when INTERNAL_API_SECRET is set).
 */
@ApiExcludeController()
@UseGuards(InternalAuthGuard)
@Controller('api/v1/internal')
export class InternalController {
  constructor(private readonly svc: InternalService) {}

  @Get('health')
  health() {
    return this.svc.health();
  }

  @Post('user/create-or-update')
  @HttpCode(200)
  createOrUpdateUser(@Body() dto: CreateOrUpdateUserDto) {
    return this.svc.createOrUpdateUser(dto);
  }

  @Post('binding/create')
  @HttpCode(200)
  createBinding(@Body() dto: CreateBindingDto) {
    return this.svc.createBinding(dto.client_id);
  }

  @Put('binding/update')
  updateBinding(@Body() dto: UpdateBindingDto) {
    return this.svc.updateBinding(dto);
  }

  @Put('payment/order/update')
  applyPayment(@Body() dto: ApplyPaymentDto) {
    return this.svc.applyPayment(dto);
  }

  @Put('payment/refund/update')
  applyRefund(@Body() dto: ApplyRefundDto) {
    return this.svc.applyRefund(dto);
  }

  @Post('callback/push')
  @HttpCode(200)
  applyPush(@Body() dto: ApplyPushDto) {
    return this.svc.applyPush(dto);
  }

  @Post('callback/nonce')
  @HttpCode(200)
  claimCallbackNonce(@Body() dto: ClaimNonceDto) {
    return this.svc.claimCallbackNonce(dto);
  }

  @Post('credits/consume')
  @HttpCode(200)
  consumeCredits(@Body() dto: ConsumeCreditsDto) {
    return this.svc.consumeCredits(dto);
  }

  @Post('credits/refund')
  @HttpCode(200)
  refundCredits(@Body() dto: RefundCreditsDto) {
    return this.svc.refundCredits(dto);
  }

  @Get('client/:client_id')
  resolveClient(@Param('client_id') clientId: string) {
    return this.svc.resolveClient(normalizeClientId(clientId));
  }

  @Post('console/login')
  @HttpCode(200)
  consoleLogin(@Body() dto: ConsoleLoginDto) {
    return this.svc.consoleLogin(dto);
  }
}
