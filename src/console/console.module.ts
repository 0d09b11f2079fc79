import { Controller, Get, MiddlewareConsumer, Module, NestModule, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { AdminModule } from '../admin/admin.module';
import { AuthModule } from '../auth/auth.module';
import { BindingModule } from '../binding/binding.module';
import { AppConfig } from '../config/app-config';
import { PaymentModule } from '../payment/payment.module';
import { UserModule } from '../user/user.module';
import { ConsoleAuthGuard } from './console-auth.guard';
import { ConsoleCoreModule } from './console-core.module';
import { ConsoleDashboardService } from './console-dashboard.service';
import { consoleCsp, consoleHeaders, originOf } from './console-headers';
import { ConsoleLoginController } from './console-login.controller';
import { ConsoleOpsService } from './console-ops.service';
import { ConsoleController } from './console.controller';

/** `/admin` and `/admin/` → the login page (the files themselves are served from public/admin/). */
@ApiExcludeController()
@Controller()
export class ConsoleEntryController {
  @Get('admin')
  entry(@Res() res: Response): void {
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(302, '/admin/index.html');
  }
}

/**
 * The operator console (docs/operator-guide.md): pages in public/admin/, API under
 * /api/v1/console/*, login by QR code, a session cookie of its own, an audit table. Data roles only.
 */
@Module({
  imports: [ConsoleCoreModule, AdminModule, AuthModule, BindingModule, PaymentModule, UserModule],
  controllers: [ConsoleLoginController, ConsoleController, ConsoleEntryController],
  providers: [ConsoleAuthGuard, ConsoleDashboardService, ConsoleOpsService],
})
export class ConsoleModule implements NestModule {
  constructor(private readonly config: AppConfig) {}

  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(consoleHeaders(consoleCsp(originOf(this.config.wechat.mpBase))))
      .forRoutes(ConsoleLoginController, ConsoleController, ConsoleEntryController);
  }
}
