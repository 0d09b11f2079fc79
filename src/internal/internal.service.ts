import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { BindingService } from '../binding/binding.service';
import { DomainError } from '../common/errors';
import { ConsoleLoginService } from '../console/console-login.service';
import { DatabaseService } from '../database/database.service';
import { PaymentApplyService } from '../payment/orders/payment-apply.service';
import { RefundApplyService } from '../payment/refunds/refund-apply.service';
import { CreditsService } from '../user/credits.service';
import { NotFollowedError } from '../user/user.errors';
import { UserService } from '../user/user.service';
import {
  ApplyPaymentRequest,
  ApplyPaymentResponse,
  ApplyPushRequest,
  ApplyPushResponse,
  ApplyRefundRequest,
  ApplyRefundResponse,
  ClaimNonceRequest,
  ConsoleLoginRequest,
  ConsoleLoginResponse,
  ConsumeCreditsRequest,
  CreateBindingResponse,
  CreateOrUpdateUserRequest,
  CreateOrUpdateUserResponse,
  InternalHealth,
  RefundCreditsRequest,
  ResolveClientResponse,
  UpdateBindingRequest,
  UpdateBindingResponse,
} from './internal-api';
import { NonceService } from './nonce.service';

/**
 * The internal operations on the app side: what the local adapter calls directly and the internal
 * controller exposes over HTTP. Composes the user, binding and payment services; no rules of its own.
 */
@Injectable()
export class InternalService {
  constructor(
    private readonly db: DatabaseService,
    private readonly users: UserService,
    private readonly bindings: BindingService,
    private readonly credits: CreditsService,
    private readonly nonces: NonceService,
    private readonly payments: PaymentApplyService,
    private readonly refunds: RefundApplyService,
    private readonly consoleLogins: ConsoleLoginService,
  ) {}

  async health(): Promise<InternalHealth> {
    return { success: true, database: (await this.db.ping()) ? 'connected' : 'disconnected' };
  }

  async createOrUpdateUser(req: CreateOrUpdateUserRequest): Promise<CreateOrUpdateUserResponse> {
    const r = await this.users.upsert(req.openid, req.source, req.event_time ? new Date(req.event_time) : undefined);
    return { success: true, ...r };
  }

  async createBinding(clientId: string): Promise<CreateBindingResponse> {
    return { success: true, binding: await this.bindings.createBinding(clientId) };
  }

  async updateBinding(req: UpdateBindingRequest): Promise<UpdateBindingResponse> {
    return { success: true, ...(await this.bindings.updateBinding(req.scene, req.openid, req.event)) };
  }

  async applyPayment(req: ApplyPaymentRequest): Promise<ApplyPaymentResponse> {
    const r = await this.payments.apply({
      orderNo: req.order_no,
      status: req.status,
      transactionId: req.transaction_id,
      totalFen: req.total_fen,
      payerOpenid: req.payer_openid,
      paidAt: req.paid_at ? new Date(req.paid_at) : undefined,
      raw: req.raw,
    });
    return { success: true, applied: r.applied, order_status: r.orderStatus };
  }

  async applyRefund(req: ApplyRefundRequest): Promise<ApplyRefundResponse> {
    const r = await this.refunds.apply({
      refundNo: req.refund_no,
      orderNo: req.order_no,
      status: req.status,
      refundFen: req.refund_fen,
      totalFen: req.total_fen,
      wxRefundId: req.wx_refund_id,
      successAt: req.success_time ? new Date(req.success_time) : undefined,
      raw: req.raw,
    });
    return { success: true, applied: r.applied, refund_status: r.refundStatus, order_status: r.orderStatus };
  }

  /**
   * One push, one transaction (docs/performance.md): the replay-guard claim, the user event and the
   * QR binding commit together or not at all, and in the split plan it is one signed call.
   */
  async applyPush(req: ApplyPushRequest): Promise<ApplyPushResponse> {
    if ((req.source || req.scene) && !req.openid) throw new DomainError(400, 'openid: required with source or scene');
    if (req.scene && req.source !== 'subscribe' && req.source !== 'scan')
      throw new DomainError(400, 'scene: binds on subscribe or scan only');
    await this.nonces.purgeOccasionally();
    return this.db.transaction(async (em) => {
      const { fresh } = await this.nonces.claimIn(em, req.timestamp, req.nonce, req.body_sha256);
      const out: ApplyPushResponse = { success: true, fresh };
      if (req.openid && req.source) {
        out.user = await this.users.upsertIn(em, req.openid, req.source, req.event_time ? new Date(req.event_time) : undefined);
      }
      if (req.openid && req.scene && (req.source === 'subscribe' || req.source === 'scan')) {
        out.binding = await this.bindings.updateBindingIn(em, req.scene, req.openid, req.source);
      }
      return out;
    });
  }

  async claimCallbackNonce(req: ClaimNonceRequest): Promise<{ success: true; fresh: boolean }> {
    return { success: true, ...(await this.nonces.claim(req.timestamp, req.nonce, req.body_sha256)) };
  }

  async consumeCredits(req: ConsumeCreditsRequest): Promise<{ success: true; consumed: number; remaining_credits: number }> {
    const openid = await this.taskUser(req);
    if (!openid) throw new DomainError(400, 'openid: openid or client_id is required');
    const r = await this.credits.consume({
      openid,
      taskId: req.task_id,
      taskType: req.task_type,
      amount: req.amount,
      requestImageCount: req.request_image_count,
      successImageCount: req.success_image_count,
    });
    return { success: true, ...r };
  }

  async refundCredits(req: RefundCreditsRequest): Promise<{ success: true; refunded: number; remaining_credits: number }> {
    const openid = await this.taskUser(req);
    return { success: true, ...(await this.credits.refund({ openid, taskType: req.task_type, taskId: req.task_id, amount: req.amount })) };
  }

  /** The user a consume/refund names: openid, or the user bound to client_id (unbound → 404). */
  private async taskUser(req: { openid?: string; client_id?: string }): Promise<string | undefined> {
    if (req.openid || !req.client_id) return req.openid;
    const { openid } = await this.bindings.resolveClient(req.client_id);
    if (!openid) throw new NotFollowedError();
    return openid;
  }

  async resolveClient(clientId: string): Promise<ResolveClientResponse> {
    return { success: true, ...(await this.bindings.resolveClient(clientId)) };
  }

  async consoleLogin(req: ConsoleLoginRequest): Promise<ConsoleLoginResponse> {
    // The push has no request of its own in the console's sense: the audit row gets a fresh id.
    return { success: true, result: await this.consoleLogins.scanned(req.scene, req.openid, `push-${randomUUID()}`) };
  }
}
