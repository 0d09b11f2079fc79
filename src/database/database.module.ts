import { Global, Module } from '@nestjs/common';
import { DatabaseService } from './database.service';

/** Imported only in roles that own data (`all`, `app`): role `web` opens no connection. */
@Global()
@Module({ providers: [DatabaseService], exports: [DatabaseService] })
export class DatabaseModule {}
