import { Module } from '@nestjs/common';
import { WechatModule } from '../wechat/wechat.module';

/** Web OAuth (code → session token), QR binding of the desktop app, admin menu. */
@Module({ imports: [WechatModule] })
export class AuthModule {}
