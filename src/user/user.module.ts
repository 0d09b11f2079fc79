import { Module } from '@nestjs/common';
import { BindingService } from './binding.service';
import { CreditsService } from './credits.service';
import { LedgerService } from './ledger.service';
import { UserService } from './user.service';

/** Users, credits (the ledger), desktop bindings; the credits/membership endpoints for pages and the desktop app. */
@Module({
  providers: [LedgerService, UserService, CreditsService, BindingService],
  exports: [LedgerService, UserService, CreditsService, BindingService],
})
export class UserModule {}
