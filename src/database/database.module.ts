import { DynamicModule, Global, Module } from '@nestjs/common';
import type { EntityList } from './data-source-options';
import { DATABASE_ENTITIES, DatabaseService } from './database.service';

/**
 * Imported only in roles that own data (`all`, `app`): role `web` opens no connection. The caller
 * names the mapped entities (`src/entities.ts`): database/ is plumbing and knows no feature.
 */
@Global()
@Module({})
export class DatabaseModule {
  static forRoot(entities: EntityList): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [{ provide: DATABASE_ENTITIES, useValue: entities }, DatabaseService],
      exports: [DatabaseService],
    };
  }
}
