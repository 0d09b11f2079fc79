import { Module } from '@nestjs/common';
import { UserModule } from '../user/user.module';
import { WechatModule } from '../wechat/wechat.module';
import { BindingService } from './binding.service';
import { DevicesController } from './devices.controller';
import { QrBindingController } from './qr-binding.controller';
import { QrBindingService } from './qr-binding.service';

/**
 * Desktop binding (docs/callbacks.md "Binding rules"): the temporary QR codes (`wechat_qr_scenes`),
 * client_id ↔ openid (`wechat_qrcode_bindings`), check-follow and a member's device list. The only
 * writer of both tables. Depends on user (users, the caller guard), never the other way.
 */
@Module({
  imports: [WechatModule, UserModule],
  controllers: [QrBindingController, DevicesController],
  providers: [BindingService, QrBindingService],
  // The push path (internal) binds scans; the console unbinds.
  exports: [BindingService],
})
export class BindingModule {}
