import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { SandboxFaultsService } from './core/sandbox-faults.service';
import { SandboxHostsServer } from './core/sandbox-hosts.server';
import { SandboxTimers } from './core/sandbox-timers.service';
import { assertSandboxAllowed } from './core/sandbox.constants';
import { SandboxStore } from './core/sandbox.store';
import { SandboxMenuService } from './mp/sandbox-menu.service';
import { SandboxMpService } from './mp/sandbox-mp.service';
import { SandboxOAuthService } from './mp/sandbox-oauth.service';
import { SandboxPushService } from './mp/sandbox-push.service';
import { SandboxQrService } from './mp/sandbox-qr.service';
import { SandboxTokenService } from './mp/sandbox-token.service';
import { SandboxUsersService } from './mp/sandbox-users.service';
import { SandboxWechatController } from './mp/sandbox-wechat.controller';
import { SandboxBillsService } from './pay/sandbox-bills.service';
import { SandboxCheckoutService } from './pay/sandbox-checkout.service';
import { SandboxKeysService } from './pay/sandbox-keys.service';
import { SandboxNotifyService } from './pay/sandbox-notify.service';
import { SandboxPayOrdersService } from './pay/sandbox-pay-orders.service';
import { SandboxPayController } from './pay/sandbox-pay.controller';
import { SandboxRefundActionsService } from './pay/sandbox-refund-actions.service';
import { SandboxRefundsService } from './pay/sandbox-refunds.service';
import { SandboxPayV2Service } from './pay/v2/sandbox-pay-v2.service';
import { SandboxV2BillsService } from './pay/v2/sandbox-v2-bills.service';
import { SandboxV2Documents } from './pay/v2/sandbox-v2-documents.service';
import { SandboxV2OrdersService } from './pay/v2/sandbox-v2-orders.service';
import { SandboxV2RefundsService } from './pay/v2/sandbox-v2-refunds.service';
import { SandboxV2Replies } from './pay/v2/sandbox-v2-replies.service';
import { SandboxV3AuthService } from './pay/v3/sandbox-v3-auth.service';
import { SandboxV3BillsService } from './pay/v3/sandbox-v3-bills.service';
import { SandboxV3CertificatesService } from './pay/v3/sandbox-v3-certificates.service';
import { SandboxV3Documents } from './pay/v3/sandbox-v3-documents.service';
import { SandboxV3RefundsService } from './pay/v3/sandbox-v3-refunds.service';
import { SandboxV3Replies } from './pay/v3/sandbox-v3-replies.service';
import { SandboxV3TransactionsService } from './pay/v3/sandbox-v3-transactions.service';
import { SandboxActionsController } from './ui/sandbox-actions.controller';
import { SandboxAdminService } from './ui/sandbox-admin.service';
import { SandboxHomeController } from './ui/sandbox-home.controller';

/**
 * The local WeChat simulator (docs/sandbox.md), mounted under /sandbox only when WECHAT_SANDBOX=true, and
 * with SANDBOX_HOSTS_PORT also served at `/` on that port as the real hosts are (docs/sandbox-sdk.md).
 * It refuses to be constructed in production, whatever the config says.
 *
 * core/ is the simulator's state and plumbing; mp/ plays the official-account side of WeChat, pay/
 * WeChat Pay (v2/ and v3/ its two protocols); ui/ is the home page, the test user's actions and
 * the test controls, driving both sides. The root module provides the sandbox's SandboxClock as
 * the app's Clock when this module is mounted (app.module.ts).
 */
@Module({
  controllers: [SandboxHomeController, SandboxWechatController, SandboxPayController, SandboxActionsController],
  providers: [
    // core
    SandboxStore,
    SandboxTimers,
    SandboxFaultsService,
    SandboxHostsServer,
    // mp
    SandboxTokenService,
    SandboxOAuthService,
    SandboxQrService,
    SandboxMenuService,
    SandboxMpService,
    SandboxPushService,
    SandboxUsersService,
    // pay
    SandboxKeysService,
    SandboxPayOrdersService,
    SandboxRefundsService,
    SandboxBillsService,
    SandboxV2Replies,
    SandboxV2Documents,
    SandboxV2OrdersService,
    SandboxV2RefundsService,
    SandboxV2BillsService,
    SandboxPayV2Service,
    SandboxV3Replies,
    SandboxV3AuthService,
    SandboxV3Documents,
    SandboxV3TransactionsService,
    SandboxV3RefundsService,
    SandboxV3BillsService,
    SandboxV3CertificatesService,
    SandboxNotifyService,
    SandboxCheckoutService,
    SandboxRefundActionsService,
    // ui
    SandboxAdminService,
  ],
})
export class SandboxModule {
  constructor(config: AppConfig) {
    assertSandboxAllowed(config);
  }
}
