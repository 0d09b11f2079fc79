import { HttpService } from '@nestjs/axios';
import { Injectable } from '@nestjs/common';
import { AxiosError } from 'axios';
import { firstValueFrom } from 'rxjs';
import { Clock } from '../common/clock';
import { DomainError, ServiceUnavailableError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import {
  ApplyPaymentRequest,
  ApplyPushRequest,
  ApplyRefundRequest,
  CallOptions,
  ClaimNonceRequest,
  ConsoleLoginRequest,
  ConsumeCreditsRequest,
  CreateOrUpdateUserRequest,
  InternalApi,
  RefundCreditsRequest,
  UpdateBindingRequest,
} from './internal-api';
import { internalSignature } from '../common/internal-signature';

const RETRYABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/**
 * Over-HTTP adapter (role `web`): signed calls to the app server's `/api/v1/internal/*`, within the
 * caller's remaining budget, one retry on connection errors only (every operation is idempotent).
 * HTTP errors become the same typed errors the local adapter throws.
 */
@Injectable()
export class HttpInternalApi extends InternalApi {
  constructor(
    private readonly http: HttpService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
  ) {
    super();
  }

  health(opts?: CallOptions) {
    return this.call<{ success: boolean; database: 'connected' | 'disconnected' }>('GET', '/api/v1/internal/health', undefined, opts);
  }
  createOrUpdateUser(req: CreateOrUpdateUserRequest, opts?: CallOptions) {
    return this.call<Awaited<ReturnType<InternalApi['createOrUpdateUser']>>>('POST', '/api/v1/internal/user/create-or-update', req, opts);
  }
  createBinding(clientId: string, opts?: CallOptions) {
    return this.call<Awaited<ReturnType<InternalApi['createBinding']>>>(
      'POST',
      '/api/v1/internal/binding/create',
      { client_id: clientId },
      opts,
    );
  }
  updateBinding(req: UpdateBindingRequest, opts?: CallOptions) {
    return this.call<Awaited<ReturnType<InternalApi['updateBinding']>>>('PUT', '/api/v1/internal/binding/update', req, opts);
  }
  applyPayment(req: ApplyPaymentRequest, opts?: CallOptions) {
    return this.call<Awaited<ReturnType<InternalApi['applyPayment']>>>('PUT', '/api/v1/internal/payment/order/update', req, opts);
  }
  applyRefund(req: ApplyRefundRequest, opts?: CallOptions) {
    return this.call<Awaited<ReturnType<InternalApi['applyRefund']>>>('PUT', '/api/v1/internal/payment/refund/update', req, opts);
  }
  applyPush(req: ApplyPushRequest, opts?: CallOptions) {
    return this.call<Awaited<ReturnType<InternalApi['applyPush']>>>('POST', '/api/v1/internal/callback/push', req, opts);
  }
  claimCallbackNonce(req: ClaimNonceRequest, opts?: CallOptions) {
    return this.call<Awaited<ReturnType<InternalApi['claimCallbackNonce']>>>('POST', '/api/v1/internal/callback/nonce', req, opts);
  }
  consumeCredits(req: ConsumeCreditsRequest, opts?: CallOptions) {
    return this.call<Awaited<ReturnType<InternalApi['consumeCredits']>>>('POST', '/api/v1/internal/credits/consume', req, opts);
  }
  refundCredits(req: RefundCreditsRequest, opts?: CallOptions) {
    return this.call<Awaited<ReturnType<InternalApi['refundCredits']>>>('POST', '/api/v1/internal/credits/refund', req, opts);
  }
  resolveClient(clientId: string, opts?: CallOptions) {
    return this.call<Awaited<ReturnType<InternalApi['resolveClient']>>>(
      'GET',
      `/api/v1/internal/client/${encodeURIComponent(clientId)}`,
      undefined,
      opts,
    );
  }
  consoleLogin(req: ConsoleLoginRequest, opts?: CallOptions) {
    return this.call<Awaited<ReturnType<InternalApi['consoleLogin']>>>('POST', '/api/v1/internal/console/login', req, opts);
  }

  /** Times every call by operation (the path without its parameter) and outcome. */
  private async call<T>(method: 'GET' | 'POST' | 'PUT', target: string, body: unknown, opts?: CallOptions): Promise<T> {
    const operation = target.replace(/^\/api\/v1\/internal\//, '').replace(/^client\/.*/, 'client');
    const end = this.metrics.internalCalls.startTimer({ operation });
    try {
      const data = await this.send<T>(method, target, body, opts);
      end({ outcome: 'ok' });
      return data;
    } catch (err) {
      end({ outcome: err instanceof DomainError && !(err instanceof ServiceUnavailableError) ? `http_${err.status}` : 'unavailable' });
      throw err;
    }
  }

  private async send<T>(method: 'GET' | 'POST' | 'PUT', target: string, body: unknown, opts?: CallOptions): Promise<T> {
    const deadline = opts?.deadline ?? Date.now() + this.config.internal.timeoutMs;
    const payload = body === undefined ? '' : JSON.stringify(body);
    for (let attempt = 0; ; attempt++) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new ServiceUnavailableError(new Error('internal call budget exhausted'));
      const ts = String(this.clock.nowSeconds());
      try {
        const res = await firstValueFrom(
          this.http.request<T>({
            method,
            url: this.config.internal.baseUrl + target,
            data: payload || undefined,
            timeout: remaining,
            transformRequest: [(d: unknown) => d],
            headers: {
              'Content-Type': 'application/json',
              'X-Internal-Timestamp': ts,
              'X-Internal-Signature': internalSignature(this.config.internal.secret, method, target, ts, payload),
            },
          }),
        );
        return res.data;
      } catch (err) {
        const e = err as AxiosError<{ detail?: string }>;
        if (e.response) {
          const status = e.response.status;
          if (status === 503 || status >= 500) throw new ServiceUnavailableError(new Error(`app server answered ${status}`));
          throw new DomainError(status, String(e.response.data?.detail ?? e.message));
        }
        if (attempt === 0 && e.code && RETRYABLE.has(e.code)) continue;
        throw new ServiceUnavailableError(new Error(`app server unreachable: ${e.code ?? e.message}`));
      }
    }
  }
}
