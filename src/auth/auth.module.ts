import { Module } from '@nestjs/common';
import { UserModule } from '../user/user.module';
import { WechatModule } from '../wechat/wechat.module';
import { AdminKeyGuard } from '../common/admin-key.guard';
import { AuthController } from './auth.controller';
import { MenuController } from './menu.controller';
import { MenuService } from './menu.service';
import { WechatOAuthService } from './wechat-oauth.service';

/** Web OAuth (code → session token) and the admin menu. The desktop's QR binding is binding/. */
@Module({
  imports: [WechatModule, UserModule],
  controllers: [AuthController, MenuController],
  providers: [WechatOAuthService, MenuService, AdminKeyGuard],
  exports: [MenuService],
})
export class AuthModule {}
