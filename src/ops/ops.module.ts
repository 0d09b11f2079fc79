import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { PaymentModule } from '../payment/payment.module';
import { AdminPaymentsController } from './admin-payments.controller';
import { NotifyRetentionJob } from './notify-retention.job';

/**
 * What the people running the account need after launch (docs/ops.md): admin refunds and
 * reconciliation (X-Admin-Key), and the retention of raw notification data. Data roles only.
 */
@Module({
  imports: [AuthModule, PaymentModule],
  controllers: [AdminPaymentsController],
  providers: [NotifyRetentionJob],
})
export class OpsModule {}
