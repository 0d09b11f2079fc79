import { Module } from '@nestjs/common';
import { BindingModule } from '../binding/binding.module';
import { PaymentModule } from '../payment/payment.module';
import { UserModule } from '../user/user.module';
import { AdminPaymentsController } from './admin-payments.controller';
import { AdminSupportController } from './admin-support.controller';
import { SupportService } from './support.service';

/**
 * Every `api/v1/admin/*` route (docs/ops.md "Admin tools"), behind `X-Admin-Key` (common/admin-key.guard.ts):
 * refunds and reconciliation (payment's services), support lookups, manual credit adjustments and
 * the anomaly list. Data roles only. The console uses the support service too.
 */
@Module({
  imports: [BindingModule, PaymentModule, UserModule],
  controllers: [AdminPaymentsController, AdminSupportController],
  providers: [SupportService],
  exports: [SupportService],
})
export class AdminModule {}
