import { QrScene } from './binding/entities/qr-scene.entity';
import { QrcodeBinding } from './binding/entities/qrcode-binding.entity';
import { CallbackNonce } from './internal/entities/callback-nonce.entity';
import { PaymentAnomaly } from './payment/entities/payment-anomaly.entity';
import { PaymentOrder } from './payment/entities/payment-order.entity';
import { PaymentRecord } from './payment/entities/payment-record.entity';
import { PaymentRefund } from './payment/entities/payment-refund.entity';
import { ReconciliationRun } from './payment/entities/reconciliation-run.entity';
import { CreditLedgerEntry } from './user/entities/credit-ledger.entity';
import { CreditsUsage } from './user/entities/credits-usage.entity';
import { WechatUser } from './user/entities/wechat-user.entity';
import { WechatAccessToken } from './database/access-token.entity';

/**
 * Every mapped table, composed here next to app.module.ts because each belongs to a feature module
 * (database/ knows none of them: the app hands this list to `DatabaseModule.forRoot`). The schema
 * itself is owned by the migrations, never by `synchronize`.
 */
export const ENTITIES = [
  WechatUser,
  CreditLedgerEntry,
  CreditsUsage,
  QrcodeBinding,
  QrScene,
  PaymentOrder,
  PaymentRecord,
  PaymentAnomaly,
  PaymentRefund,
  ReconciliationRun,
  CallbackNonce,
  WechatAccessToken,
];
