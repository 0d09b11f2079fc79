import { Injectable } from '@nestjs/common';
import {
  ApplyPaymentRequest,
  ApplyPushRequest,
  ApplyRefundRequest,
  ClaimNonceRequest,
  ConsoleLoginRequest,
  ConsumeCreditsRequest,
  CreateOrUpdateUserRequest,
  InternalApi,
  RefundCreditsRequest,
  UpdateBindingRequest,
} from './internal-api';
import { InternalService } from './internal.service';

/** In-process adapter (roles `all` and `app`): direct calls, no HTTP, no serialisation. */
@Injectable()
export class LocalInternalApi extends InternalApi {
  constructor(private readonly svc: InternalService) {
    super();
  }

  health() {
    return this.svc.health();
  }
  createOrUpdateUser(req: CreateOrUpdateUserRequest) {
    return this.svc.createOrUpdateUser(req);
  }
  createBinding(clientId: string) {
    return this.svc.createBinding(clientId);
  }
  updateBinding(req: UpdateBindingRequest) {
    return this.svc.updateBinding(req);
  }
  applyPayment(req: ApplyPaymentRequest) {
    return this.svc.applyPayment(req);
  }
  applyRefund(req: ApplyRefundRequest) {
    return this.svc.applyRefund(req);
  }
  applyPush(req: ApplyPushRequest) {
    return this.svc.applyPush(req);
  }
  claimCallbackNonce(req: ClaimNonceRequest) {
    return this.svc.claimCallbackNonce(req);
  }
  consumeCredits(req: ConsumeCreditsRequest) {
    return this.svc.consumeCredits(req);
  }
  refundCredits(req: RefundCreditsRequest) {
    return this.svc.refundCredits(req);
  }
  resolveClient(clientId: string) {
    return this.svc.resolveClient(clientId);
  }
  consoleLogin(req: ConsoleLoginRequest) {
    return this.svc.consoleLogin(req);
  }
}
