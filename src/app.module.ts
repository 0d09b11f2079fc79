import { DynamicModule, Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { LoggerModule } from 'nestjs-pino';
import { AdminModule } from './admin/admin.module';
import { AuthModule } from './auth/auth.module';
import { BindingModule } from './binding/binding.module';
import { SystemClock } from './common/clock';
import { CommonModule } from './common/common.module';
import { ConsoleModule } from './console/console.module';
import { loggerParams } from './common/logger';
import { rateLimitStorage } from './common/rate-limit-storage';
import { SecretFailureModule } from './common/secret-failure-limiter';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { ENTITIES } from './entities';
import { HealthModule } from './health/health.module';
import { InternalModule } from './internal/internal.module';
import { MetricsModule } from './metrics/metrics.module';
import { MetricsService } from './metrics/metrics.service';
import { PaymentModule } from './payment/payment.module';
import { SandboxClock } from './sandbox/core/sandbox-clock';
import { StaticModule } from './static/static.module';
import { UserModule } from './user/user.module';
import { WechatCallbackModule } from './wechat-callback/wechat-callback.module';

/**
 * One build, three roles (docs/internal.md): the role only changes which modules are imported and
 * which InternalApi adapter is bound. Role `web` imports no database module at all.
 */
function clientIdOf(req: Record<string, unknown>): string {
  const id = (req.body as { client_id?: unknown } | undefined)?.client_id;
  return typeof id === 'string' ? id.trim() : '';
}

@Module({})
export class AppModule {
  static register(config: AppConfig): DynamicModule {
    const imports: DynamicModule['imports'] = [
      ConfigModule.forRoot(config),
      LoggerModule.forRoot(loggerParams(config)),
      // The sandbox's clock can be moved by its time-travel endpoint (POST /sandbox/clock); production's cannot.
      CommonModule.forRoot(config.wechat.sandbox ? SandboxClock : SystemClock),
      MetricsModule,
      InternalModule.forTransport(config.internal.transport),
      HealthModule,
      WechatCallbackModule,
      // Rate limits: counters in Redis with REDIS_URL (one limit for the whole deployment), else in
      // process memory (per process); docs/limits.md "Shared rate limits". Routes opt in with
      // @LimitedPerIp() (common/limited-per-ip.ts); `perIp` counts by client IP (trusted proxy aware), `qrPerClient`
      // counts QR creation per client_id and is skipped everywhere else. Every role has it: the
      // admin/metrics brake (SecretFailureLimiter) counts through its storage.
      ThrottlerModule.forRootAsync({
        inject: [AppConfig, MetricsService],
        useFactory: async (cfg: AppConfig, metrics: MetricsService) => ({
          storage: await rateLimitStorage(cfg, metrics),
          throttlers: [
            { name: 'perIp', ttl: 60_000, limit: cfg.http.rateLimitPerMinute },
            {
              name: 'qrPerClient',
              ttl: 60_000,
              limit: 10,
              getTracker: (req: Record<string, unknown>) => clientIdOf(req),
              // No client_id: nothing to count per client (the request gets its 400 instead).
              skipIf: (ctx) => clientIdOf(ctx.switchToHttp().getRequest()) === '',
            },
          ],
        }),
      }),
      SecretFailureModule,
    ];
    if (config.role !== 'web') {
      imports.push(
        DatabaseModule.forRoot(ENTITIES),
        AuthModule,
        BindingModule,
        PaymentModule,
        UserModule,
        // Every api/v1/admin/* route (X-Admin-Key).
        AdminModule,
        // The operator console at /admin/ (docs/operator-guide.md).
        ConsoleModule,
        // The member pages and public/ (docs/api.md "Static pages"); role web serves none of them.
        StaticModule,
      );
    }
    // Never in production: loadConfig refuses WECHAT_SANDBOX there, and the module refuses itself.
    // Loaded only when on: production never loads the simulator's code (about 200 modules with its
    // certificate library; docs/performance.md "Memory").
    if (config.wechat.sandbox) imports.push(import('./sandbox/sandbox.module').then(({ SandboxModule }) => ({ module: SandboxModule })));
    return { module: AppModule, imports };
  }
}
