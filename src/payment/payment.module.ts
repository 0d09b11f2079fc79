import { Module } from '@nestjs/common';
import { UserModule } from '../user/user.module';
import { WechatPayModule } from '../wechat/pay/pay.module';
import { AnomalyService } from './anomaly.service';
import { OrderExpiryJob } from './order-expiry.job';
import { OrderService } from './order.service';
import { PaymentController } from './payment.controller';
import { PaymentApplyService } from './payment-apply.service';
import { PricingService } from './pricing.service';
import { ReconciliationJob } from './reconciliation.job';
import { ReconciliationService } from './reconciliation.service';
import { RefundSyncJob } from './refund-sync.job';
import { RefundService } from './refund.service';

/** Orders, WeChat Pay v2/v3, order status and expiry; applying payments and refunds exactly once; reconciliation. */
@Module({
  imports: [UserModule, WechatPayModule],
  controllers: [PaymentController],
  providers: [
    PricingService,
    AnomalyService,
    PaymentApplyService,
    OrderService,
    OrderExpiryJob,
    RefundService,
    RefundSyncJob,
    ReconciliationService,
    ReconciliationJob,
  ],
  exports: [
    PricingService,
    AnomalyService,
    PaymentApplyService,
    OrderService,
    RefundService,
    ReconciliationService,
    ReconciliationJob,
    RefundSyncJob,
  ],
})
export class PaymentModule {}
