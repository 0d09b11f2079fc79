import { Module } from '@nestjs/common';
import { CallerIdentityService } from './caller-identity.service';
import { CreditsService } from './credits.service';
import { LedgerService } from './ledger.service';
import { UserQueryService } from './user-query.service';
import { UserStatsService } from './user-stats.service';
import { UserController } from './user.controller';
import { MembershipService } from './membership.service';
import { UserService } from './user.service';

/** Users, credits (the ledger), membership, the caller's identity; the credits/membership endpoints for pages and the desktop app. */
@Module({
  controllers: [UserController],
  providers: [LedgerService, MembershipService, UserService, CreditsService, CallerIdentityService, UserQueryService, UserStatsService],
  // CallerIdentityService lets importing modules mark routes "caller required" with @RequireCaller (caller.ts).
  // UserService, UserQueryService and UserStatsService answer what support and the console read of user's tables.
  exports: [LedgerService, MembershipService, UserService, CreditsService, CallerIdentityService, UserQueryService, UserStatsService],
})
export class UserModule {}
