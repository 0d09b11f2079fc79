import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { AppConfig } from '../config/app-config';

/**
 * Prometheus metrics (docs/ops.md): one registry per application instance (several instances may share
 * a test process), labelled with the role. Counters never carry ids, openids or amounts.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly pushes = new Counter({
    name: 'wechat_push_total',
    help: 'WeChat message/event pushes by event and result',
    labelNames: ['event', 'result'] as const,
    registers: [this.registry],
  });

  readonly notifications = new Counter({
    name: 'wechat_pay_notification_total',
    help: 'WeChat Pay notifications by kind and result',
    labelNames: ['kind', 'result'] as const,
    registers: [this.registry],
  });

  readonly anomalies = new Counter({
    name: 'payment_anomalies_total',
    help: 'Payment anomalies recorded, by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly tokenFetches = new Counter({
    name: 'wechat_access_token_fetch_total',
    help: 'Access tokens fetched from WeChat by this process (shared through the database)',
    registers: [this.registry],
  });

  readonly internalCalls = new Histogram({
    name: 'internal_api_call_duration_seconds',
    help: 'Internal API calls of the web role to the app server, by operation and outcome',
    labelNames: ['operation', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3],
    registers: [this.registry],
  });

  readonly httpDurations = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request durations by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  /** Shared rate limits (docs/limits.md): requests counted in process memory because Redis did not answer. */
  readonly rateLimitFallbacks = new Counter({
    name: 'rate_limit_redis_fallback_total',
    help: 'Rate-limit checks counted in process memory because Redis was unavailable',
    registers: [this.registry],
  });

  constructor(config: AppConfig) {
    this.registry.setDefaultLabels({ role: config.role });
    collectDefaultMetrics({ register: this.registry });
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
