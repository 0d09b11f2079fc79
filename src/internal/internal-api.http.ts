import { HttpService } from '@nestjs/axios';
import { Injectable } from '@nestjs/common';
import { firstValueFrom } from 'rxjs';
import { AppConfig } from '../config/app-config';
import { Clock } from '../common/clock';
import { ServiceUnavailableError } from '../common/errors';
import { InternalApi, InternalHealth } from './internal-api';
import { internalSignature } from './internal-signature';

/** Over-HTTP adapter (role `web`): signed calls to the app server's internal endpoints. */
@Injectable()
export class HttpInternalApi extends InternalApi {
  constructor(
    private readonly http: HttpService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {
    super();
  }

  async health(): Promise<InternalHealth> {
    const target = '/api/v1/internal/health';
    const ts = String(this.clock.nowSeconds());
    try {
      const res = await firstValueFrom(
        this.http.get<InternalHealth>(this.config.internal.baseUrl + target, {
          timeout: Math.min(2000, this.config.internal.timeoutMs),
          headers: {
            'X-Internal-Timestamp': ts,
            'X-Internal-Signature': internalSignature(this.config.internal.secret, 'GET', target, ts, ''),
          },
        }),
      );
      return res.data;
    } catch (err) {
      throw new ServiceUnavailableError(err);
    }
  }
}
