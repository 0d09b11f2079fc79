import { Module } from '@nestjs/common';
import { WechatModule } from '../wechat/wechat.module';
import { ConsoleAuditService } from './console-audit.service';
import { ConsoleLoginService } from './console-login.service';

/** What both the console and the internal API (a login scan arriving as a push) need. Data roles only. */
@Module({
  imports: [WechatModule],
  providers: [ConsoleAuditService, ConsoleLoginService],
  exports: [ConsoleAuditService, ConsoleLoginService],
})
export class ConsoleCoreModule {}
