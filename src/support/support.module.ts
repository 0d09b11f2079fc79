import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { UserModule } from '../user/user.module';
import { SupportController } from './support.controller';
import { SupportService } from './support.service';

/** Support tools for the people running the account (docs/ops.md "Support"). */
@Module({ imports: [AuthModule, UserModule], controllers: [SupportController], providers: [SupportService], exports: [SupportService] })
export class SupportModule {}
