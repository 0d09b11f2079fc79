import { Injectable, Optional } from '@nestjs/common';
import { Clock } from '../common/clock';
import { toIsoShanghai } from '../common/time-format';
import { AppConfig } from '../config/app-config';
import { DatabaseService } from '../database/database.service';
import { InternalApi } from '../internal/internal-api';

export interface HealthReport {
  status: 'healthy' | 'unhealthy' | 'degraded';
  timestamp: string;
  database: 'connected' | 'disconnected' | 'not_used';
  app_server?: 'reachable' | 'unreachable';
  role: string;
  version: string;
}

@Injectable()
export class HealthService {
  constructor(
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly internal: InternalApi,
    @Optional() private readonly db?: DatabaseService,
  ) {}

  async report(): Promise<HealthReport> {
    const base = { timestamp: toIsoShanghai(this.clock.now())!, role: this.config.role, version: this.config.version };
    if (!this.db) {
      // Role web: no database; the app server behind the internal API is what matters.
      const reachable = await this.internal.health().then(
        (h) => h.database === 'connected',
        () => false,
      );
      return {
        status: reachable ? 'healthy' : 'degraded',
        database: 'not_used',
        app_server: reachable ? 'reachable' : 'unreachable',
        ...base,
      };
    }
    const up = await this.db.ping();
    return { status: up ? 'healthy' : 'unhealthy', database: up ? 'connected' : 'disconnected', ...base };
  }

  identity() {
    return { service: 'image-classifier-wechat', version: this.config.version, docs: '/docs', health: '/api/v1/health' };
  }
}
