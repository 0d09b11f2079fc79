import { Module } from '@nestjs/common';
import { UserModule } from '../user/user.module';
import { WechatPayModule } from '../wechat/pay/pay.module';
import { AnomalyService } from './anomaly.service';
import { OrderExpiryJob } from './order-expiry.job';
import { OrderService } from './order.service';
import { PaymentController } from './payment.controller';
import { PaymentApplyService } from './payment-apply.service';
import { PricingService } from './pricing.service';

/** Orders, WeChat Pay v2/v3, order status and expiry; applying payments exactly once. */
@Module({
  imports: [UserModule, WechatPayModule],
  controllers: [PaymentController],
  providers: [PricingService, AnomalyService, PaymentApplyService, OrderService, OrderExpiryJob],
  exports: [PricingService, AnomalyService, PaymentApplyService, OrderService],
})
export class PaymentModule {}
