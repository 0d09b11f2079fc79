import { HttpModule } from '@nestjs/axios';
import { DynamicModule, Module } from '@nestjs/common';
import { BindingModule } from '../binding/binding.module';
import { ConsoleCoreModule } from '../console/console-core.module';
import { PaymentModule } from '../payment/payment.module';
import { UserModule } from '../user/user.module';
import { InternalApi } from './internal-api';
import { HttpInternalApi } from './internal-api.http';
import { LocalInternalApi } from './internal-api.local';
import { InternalAuthGuard } from './internal-auth.guard';
import { InternalController } from './internal.controller';
import { InternalService } from './internal.service';
import { NonceService } from './nonce.service';

/**
 * Exports only the `InternalApi` port. `INTERNAL_API_TRANSPORT` picks the adapter: `local` (roles
 * all/app) also serves the signed internal endpoints; `http` (role web, no database) only calls
 * them. The other adapter is not even registered.
 */
@Module({})
export class InternalModule {
  static forTransport(transport: 'local' | 'http'): DynamicModule {
    if (transport === 'http') {
      return {
        module: InternalModule,
        global: true,
        imports: [HttpModule],
        providers: [{ provide: InternalApi, useClass: HttpInternalApi }],
        exports: [InternalApi],
      };
    }
    return {
      module: InternalModule,
      global: true,
      imports: [UserModule, BindingModule, PaymentModule, ConsoleCoreModule],
      controllers: [InternalController],
      providers: [InternalService, NonceService, InternalAuthGuard, { provide: InternalApi, useClass: LocalInternalApi }],
      exports: [InternalApi],
    };
  }
}
