import { Module } from '@nestjs/common';

/** Orders, WeChat Pay v2/v3, order status and expiry. */
@Module({})
export class PaymentModule {}
