import { Module } from '@nestjs/common';

/** Web OAuth (code → session token), QR binding of the desktop app, admin menu. */
@Module({})
export class AuthModule {}
