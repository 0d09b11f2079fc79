import { InitialSchema1732000000000 } from './1732000000000-initial-schema';
import { PaymentRefunds1735000000000 } from './1735000000000-payment-refunds';
import { CreditTaskKeys1740000000000 } from './1740000000000-credit-task-keys';
import { OperatorConsole1741000000000 } from './1741000000000-operator-console';

/** The one migration history, in order (shared by the app, ormconfig.ts and the tests). */
export const MIGRATIONS = [
  InitialSchema1732000000000,
  PaymentRefunds1735000000000,
  CreditTaskKeys1740000000000,
  OperatorConsole1741000000000,
];
