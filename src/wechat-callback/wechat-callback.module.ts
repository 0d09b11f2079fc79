import { Module } from '@nestjs/common';
import { WechatPayModule } from '../wechat/pay/pay.module';
import { CallbackCrypto } from './callback-crypto';
import { PayNotificationHandler } from './pay-notification.handler';
import { PayNotifyController } from './pay-notify.controller';
import { PushEventHandler } from './push-event.handler';
import { PushReplyBuilder } from './push-reply.builder';
import { PushVerifier } from './push-verifier.service';
import { RefundNotifyController } from './refund-notify.controller';
import { WechatVerifyController } from './wechat-verify.controller';

/**
 * What WeChat calls: server verification, message push, pay notify, refund notify. Verifies and decodes, then
 * calls InternalApi (provided globally by InternalModule, local or HTTP); never touches the
 * database, so it is the same in every role.
 */
@Module({
  imports: [WechatPayModule],
  controllers: [WechatVerifyController, PayNotifyController, RefundNotifyController],
  providers: [CallbackCrypto, PushVerifier, PushEventHandler, PushReplyBuilder, PayNotificationHandler],
})
export class WechatCallbackModule {}
