import { HttpModule, HttpService } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import { Clock } from '../../common/clock';
import { AppConfig } from '../../config/app-config';
import { DEFAULT_PAY_TIMEOUT_MS, PayClient } from './pay.client';
import { PayV2Client } from './client/v2.client';
import { PayV3Client } from './client/v3.client';

/**
 * WeChat Pay behind the `PayClient` port: v2 or v3 from `WECHAT_PAY_VERSION`. Needs the global
 * `AppConfig` (ConfigModule) and `Clock` (CommonModule).
 */
@Module({
  imports: [HttpModule.register({ timeout: DEFAULT_PAY_TIMEOUT_MS, maxRedirects: 0 })],
  providers: [
    {
      provide: PayClient,
      inject: [HttpService, AppConfig, Clock],
      useFactory: (http: HttpService, config: AppConfig, clock: Clock): PayClient =>
        config.pay.version === 'v3' ? new PayV3Client(http, config, clock) : new PayV2Client(http, config, clock),
    },
  ],
  exports: [PayClient],
})
export class WechatPayModule {}
