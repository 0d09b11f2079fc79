import { Module } from '@nestjs/common';
import { UserModule } from '../user/user.module';
import { WechatPayModule } from '../wechat/pay/pay.module';
import { AnomalyService } from './anomaly.service';
import { NotifyRetentionJob } from './notify-retention.job';
import { OrderExpiryJob } from './orders/order-expiry.job';
import { OrderService } from './orders/order.service';
import { PaymentController } from './payment.controller';
import { PaymentApplyService } from './orders/payment-apply.service';
import { PricingService } from './pricing.service';
import { ReconciliationJob } from './reconciliation/reconciliation.job';
import { ReconciliationService } from './reconciliation/reconciliation.service';
import { RefundSyncJob } from './refunds/refund-sync.job';
import { RefundService } from './refunds/refund-request.service';

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
    NotifyRetentionJob,
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
