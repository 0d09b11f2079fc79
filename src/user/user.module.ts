import { Module } from '@nestjs/common';

/** Credits, membership status, usage and ledger for pages and the desktop app. */
@Module({})
export class UserModule {}
