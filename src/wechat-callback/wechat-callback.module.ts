import { Module } from '@nestjs/common';
import { WechatPayModule } from '../wechat/pay/pay.module';
import { CallbackCrypto } from './callback-crypto';
import { CallbackRoutes } from './callback-routes';
import { PayNotificationHandler } from './pay-notification.handler';
import { PushEventHandler } from './push-event.handler';
import { PushReplyBuilder } from './push-reply.builder';
import { PushVerifier } from './push-verifier.service';
import { ServerUrlEndpoint } from './server-url.endpoint';

/**
 * What WeChat calls: server verification, message push, pay notify, refund notify. Verifies and decodes, then
 * calls InternalApi (provided globally by InternalModule, local or HTTP); never touches the
 * database, so it is the same in every role. No controllers: its URLs (CallbackRoutes) are served by
 * the callback lane before Express (callback-lane.ts, mounted by app.setup).
 */
@Module({
  imports: [WechatPayModule],
  providers: [CallbackCrypto, PushVerifier, PushEventHandler, PushReplyBuilder, PayNotificationHandler, ServerUrlEndpoint, CallbackRoutes],
  exports: [CallbackRoutes],
})
export class WechatCallbackModule {}
