import { HttpModule } from '@nestjs/axios';
import { DynamicModule, Module } from '@nestjs/common';
import { InternalApi } from './internal-api';
import { HttpInternalApi } from './internal-api.http';
import { LocalInternalApi } from './internal-api.local';

/**
 * Exports only the `InternalApi` port. `INTERNAL_API_TRANSPORT` picks the adapter (role `web`,
 * which has no database, always gets the HTTP one); the other adapter is not even registered.
 */
@Module({})
export class InternalModule {
  static forTransport(transport: 'local' | 'http'): DynamicModule {
    return {
      module: InternalModule,
      global: true,
      imports: [HttpModule],
      providers: [{ provide: InternalApi, useClass: transport === 'http' ? HttpInternalApi : LocalInternalApi }],
      exports: [InternalApi],
    };
  }
}
