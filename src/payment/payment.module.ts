import { Module } from '@nestjs/common';
import { UserModule } from '../user/user.module';
import { AnomalyService } from './anomaly.service';
import { PaymentApplyService } from './payment-apply.service';
import { PricingService } from './pricing.service';

/** Orders, WeChat Pay v2/v3, order status and expiry; applying payments exactly once. */
@Module({
  imports: [UserModule],
  providers: [PricingService, AnomalyService, PaymentApplyService],
  exports: [PricingService, AnomalyService, PaymentApplyService],
})
export class PaymentModule {}
