import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { SandboxActionsController } from './sandbox-actions.controller';
import { SandboxAdminService } from './sandbox-admin.service';
import { SandboxCheckoutService } from './sandbox-checkout.service';
import { assertSandboxAllowed } from './sandbox.constants';
import { SandboxFaultsService } from './sandbox-faults.service';
import { SandboxHomeController } from './sandbox-home.controller';
import { SandboxHostsServer } from './sandbox-hosts.server';
import { SandboxKeysService } from './sandbox-keys.service';
import { SandboxMenuService } from './sandbox-menu.service';
import { SandboxMpService } from './sandbox-mp.service';
import { SandboxNotifyService } from './sandbox-notify.service';
import { SandboxOAuthService } from './sandbox-oauth.service';
import { SandboxPayController } from './sandbox-pay.controller';
import { SandboxPayOrdersService } from './sandbox-pay-orders.service';
import { SandboxPayV2Service } from './sandbox-pay-v2.service';
import { SandboxPayV3Service } from './sandbox-pay-v3.service';
import { SandboxPushService } from './sandbox-push.service';
import { SandboxQrService } from './sandbox-qr.service';
import { SandboxBillsService } from './sandbox-bills.service';
import { SandboxRefundActionsService } from './sandbox-refund-actions.service';
import { SandboxRefundsService } from './sandbox-refunds.service';
import { SandboxStore } from './sandbox.store';
import { SandboxTimers } from './sandbox-timers.service';
import { SandboxTokenService } from './sandbox-token.service';
import { SandboxUsersService } from './sandbox-users.service';
import { SandboxWechatController } from './sandbox-wechat.controller';

/**
 * The local WeChat simulator (docs/sandbox.md), mounted under /sandbox only when WECHAT_SANDBOX=true, and
 * with SANDBOX_HOSTS_PORT also served at `/` on that port as the real hosts are (docs/sandbox-sdk.md).
 * It refuses to be constructed in production, whatever the config says.
 */
@Module({
  controllers: [SandboxHomeController, SandboxWechatController, SandboxPayController, SandboxActionsController],
  providers: [
    SandboxStore,
    SandboxTimers,
    SandboxKeysService,
    SandboxFaultsService,
    SandboxTokenService,
    SandboxOAuthService,
    SandboxQrService,
    SandboxMenuService,
    SandboxMpService,
    SandboxPushService,
    SandboxUsersService,
    SandboxPayOrdersService,
    SandboxRefundsService,
    SandboxBillsService,
    SandboxPayV2Service,
    SandboxPayV3Service,
    SandboxNotifyService,
    SandboxCheckoutService,
    SandboxRefundActionsService,
    SandboxAdminService,
    SandboxHostsServer,
  ],
})
export class SandboxModule {
  constructor(config: AppConfig) {
    assertSandboxAllowed(config);
  }
}
