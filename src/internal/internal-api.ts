/**
 * The port the WeChat callback controllers depend on (docs/internal.md). Operations map one-to-one to
 * the `/api/v1/internal/*` endpoints and use their JSON shapes. Two implementations: the local
 * adapter calls this process's services; the HTTP adapter calls the app server, signed. Both throw
 * the same typed errors (DomainError with status + detail; ServiceUnavailableError when the
 * database or the app server cannot be reached) and pass one contract suite.
 */

export interface InternalHealth {
  success: boolean;
  database: 'connected' | 'disconnected';
}

export type UserEventSource = 'subscribe' | 'scan' | 'oauth' | 'unsubscribe';

export interface CreateOrUpdateUserRequest {
  openid: string;
  source: UserEventSource;
  /** ISO 8601; WeChat's CreateTime of the event. */
  event_time?: string;
}

export interface CreateOrUpdateUserResponse {
  success: true;
  created: boolean;
  credits_granted: number;
  user: { openid: string; remaining_credits: number; is_member: boolean; subscribed: boolean } | null;
}

export interface CreateBindingResponse {
  success: true;
  binding: { id: number; client_id: string; status: string; openid: string | null };
}

export interface UpdateBindingRequest {
  scene: string;
  openid: string;
  event: 'subscribe' | 'scan';
}

export interface UpdateBindingResponse {
  success: true;
  bound: boolean;
  reason?: 'expired' | 'unknown' | 'not_pending';
}

export interface ApplyPaymentRequest {
  order_no: string;
  status: 'paid' | 'failed' | 'closed';
  transaction_id?: string;
  total_fen?: number;
  payer_openid?: string;
  /** ISO 8601 */
  paid_at?: string;
  raw?: string;
}

export interface ApplyPaymentResponse {
  success: true;
  applied: boolean;
  order_status: string;
}

/** WeChat's result for a refund we asked for (a verified refund notification). */
export interface ApplyRefundRequest {
  refund_no: string;
  order_no: string;
  status: 'success' | 'closed' | 'abnormal';
  refund_fen: number;
  total_fen: number;
  wx_refund_id?: string;
  /** ISO 8601 */
  success_time?: string;
  raw?: string;
}

export interface ApplyRefundResponse {
  success: true;
  applied: boolean;
  refund_status: string;
  order_status: string;
}

export interface ClaimNonceRequest {
  timestamp: string;
  nonce: string;
  body_sha256: string;
}

/**
 * Everything one push changes, applied in one transaction: the replay-guard claim of its
 * (timestamp, nonce) pair, the user event, and the QR scene it binds. A claim that exists with the
 * same body (a WeChat retry) applies the effects again, idempotently; with another body it is 409.
 */
export interface ApplyPushRequest {
  timestamp: string;
  nonce: string;
  body_sha256: string;
  /** The user event, when the push has one (with `source`). */
  openid?: string;
  source?: 'subscribe' | 'scan' | 'unsubscribe';
  /** ISO 8601; WeChat's CreateTime of the event. */
  event_time?: string;
  /** A QR scene to bind to `openid` (a subscribe through a parametric code, or SCAN). */
  scene?: string;
}

export interface ApplyPushResponse {
  success: true;
  /** false: the pair was claimed before with the same body (a WeChat retry). */
  fresh: boolean;
  user?: Omit<CreateOrUpdateUserResponse, 'success'>;
  binding?: Omit<UpdateBindingResponse, 'success'>;
}

export interface ConsumeCreditsRequest {
  openid?: string;
  client_id?: string;
  task_id: string;
  task_type: string;
  amount: number;
  request_image_count?: number;
  success_image_count?: number;
}

export interface RefundCreditsRequest {
  /** The task's user (openid, or a bound client_id); required when several users have such a task. */
  openid?: string;
  client_id?: string;
  task_id: string;
  task_type: string;
  amount?: number;
}

export interface ResolveClientResponse {
  success: true;
  openid: string | null;
  subscribed: boolean;
  is_member: boolean;
}

/** A scan of an operator-console login code (scene `console_…`): approved for ADMIN_OPENIDS, else refused. */
export interface ConsoleLoginRequest {
  scene: string;
  openid: string;
}

export interface ConsoleLoginResponse {
  success: true;
  result: 'approved' | 'refused' | 'expired';
}

/** Per-call options: the callback's remaining budget (docs/internal.md: one budget per callback). */
export interface CallOptions {
  /** Absolute deadline (ms since epoch) for this call, retries included. */
  deadline?: number;
}

export abstract class InternalApi {
  abstract health(opts?: CallOptions): Promise<InternalHealth>;
  abstract createOrUpdateUser(req: CreateOrUpdateUserRequest, opts?: CallOptions): Promise<CreateOrUpdateUserResponse>;
  abstract createBinding(clientId: string, opts?: CallOptions): Promise<CreateBindingResponse>;
  abstract updateBinding(req: UpdateBindingRequest, opts?: CallOptions): Promise<UpdateBindingResponse>;
  /** 404 订单不存在; 409 金额与订单不符 / 付款人与订单不符. (Implemented with payments.) */
  abstract applyPayment(req: ApplyPaymentRequest, opts?: CallOptions): Promise<ApplyPaymentResponse>;
  /** Exactly once per refund; 404 退款单不存在 (not one we asked for); 409 退款金额与退款单不符. */
  abstract applyRefund(req: ApplyRefundRequest, opts?: CallOptions): Promise<ApplyRefundResponse>;
  /** One push's claim and effects in one transaction; 409 重放请求 when the pair came with another body. */
  abstract applyPush(req: ApplyPushRequest, opts?: CallOptions): Promise<ApplyPushResponse>;
  /** fresh=false: the same pair with the same body (a WeChat retry); 409 with another body. */
  abstract claimCallbackNonce(req: ClaimNonceRequest, opts?: CallOptions): Promise<{ success: true; fresh: boolean }>;
  /** 402 额度不足; unbound client_id → 404 用户未关注公众号; same task again → first result. */
  abstract consumeCredits(
    req: ConsumeCreditsRequest,
    opts?: CallOptions,
  ): Promise<{ success: true; consumed: number; remaining_credits: number }>;
  /** At most what the task consumed, once, to that task's user; unknown task → 404 任务不存在; several users, none named → 409. */
  abstract refundCredits(
    req: RefundCreditsRequest,
    opts?: CallOptions,
  ): Promise<{ success: true; refunded: number; remaining_credits: number }>;
  abstract resolveClient(clientId: string, opts?: CallOptions): Promise<ResolveClientResponse>;
  /** Unknown, expired or already scanned codes → `expired`; a refusal is written to the console audit. */
  abstract consoleLogin(req: ConsoleLoginRequest, opts?: CallOptions): Promise<ConsoleLoginResponse>;
}
