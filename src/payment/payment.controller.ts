import { Body, Controller, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { CurrentCaller, RequireCaller } from '../user/caller';
import type { Caller } from '../user/caller-identity.service';
import { CreateOrderDto } from './dto/create-order.dto';
import { OrderService } from './orders/order.service';
import { PricingService } from './pricing.service';
import { LimitedPerIp } from '../common/limited-per-ip';

@ApiTags('payment')
@Controller('api/v1/payment')
@LimitedPerIp()
export class PaymentController {
  constructor(
    private readonly pricing: PricingService,
    private readonly orders: OrderService,
  ) {}

  @Get('prices')
  @ApiOperation({ summary: 'Membership price and the configured credit packages' })
  prices() {
    return this.pricing.view();
  }

  @Post('create-order')
  @HttpCode(200)
  @RequireCaller({ allowClientId: false })
  @ApiOperation({ summary: 'Create an order and the signed JSAPI payment parameters' })
  createOrder(@CurrentCaller() caller: Caller, @Body() dto: CreateOrderDto, @Req() req: Request) {
    return this.orders.create(caller.openid, dto.order_type, dto.credits_amount, payerIp(req));
  }

  @Get('orders')
  @RequireCaller({ allowClientId: false })
  @ApiOperation({ summary: "The caller's last 50 orders, newest first" })
  async list(@CurrentCaller() caller: Caller) {
    return { success: true, orders: await this.orders.list(caller.openid) };
  }

  @Get('orders/:order_no')
  @RequireCaller({ allowClientId: false })
  @ApiOperation({ summary: "One of the caller's orders; a pending one is checked with WeChat Pay" })
  async get(@CurrentCaller() caller: Caller, @Param('order_no') orderNo: string) {
    return { success: true, order: await this.orders.get(caller.openid, orderNo) };
  }
}

/** The payer's IP as the trusted proxy reports it (Express `trust proxy`), IPv4-mapped unwrapped. */
function payerIp(req: Request): string {
  const ip = req.ip ?? req.socket.remoteAddress ?? '127.0.0.1';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}
