import { Module } from '@nestjs/common';
import { UserModule } from '../user/user.module';
import { WechatPayModule } from '../wechat/pay/pay.module';
import { AnomalyService } from './anomaly.service';
import { NotifyRetentionJob } from './notify-retention.job';
import { OrderExpiryJob } from './orders/order-expiry.job';
import { OrderRepository } from './orders/order.repository';
import { OrderService } from './orders/order.service';
import { PaymentApplyService } from './orders/payment-apply.service';
import { PaymentQueryService } from './payment-query.service';
import { PaymentController } from './payment.controller';
import { PricingService } from './pricing.service';
import { ReconciliationJob } from './reconciliation/reconciliation.job';
import { ReconciliationService } from './reconciliation/reconciliation.service';
import { RefundApplyService } from './refunds/refund-apply.service';
import { RefundQueryService } from './refunds/refund-query.service';
import { RefundRequestService } from './refunds/refund-request.service';
import { RefundSyncJob } from './refunds/refund-sync.job';
import { RefundRepository } from './refunds/refund.repository';

/**
 * Orders, WeChat Pay v2/v3, order status and expiry; applying payments and refunds exactly once;
 * reconciliation; the retention of raw notifications. Owns payment_orders, payment_records,
 * payment_refunds, payment_anomalies and reconciliation_runs: other modules use the exported
 * services, never the tables (docs/data.md).
 */
@Module({
  imports: [UserModule, WechatPayModule],
  controllers: [PaymentController],
  providers: [
    PricingService,
    AnomalyService,
    OrderRepository,
    PaymentApplyService,
    OrderService,
    OrderExpiryJob,
    RefundRepository,
    RefundApplyService,
    RefundRequestService,
    RefundQueryService,
    RefundSyncJob,
    ReconciliationService,
    ReconciliationJob,
    NotifyRetentionJob,
    PaymentQueryService,
  ],
  exports: [
    // The internal API applies WeChat's results (notifications).
    PaymentApplyService,
    RefundApplyService,
    // The admin endpoints and the console: refunds, reconciliation, anomalies, and what they read.
    RefundRequestService,
    RefundQueryService,
    ReconciliationService,
    AnomalyService,
    PaymentQueryService,
  ],
})
export class PaymentModule {}
