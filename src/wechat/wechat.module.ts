import { HttpModule } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import { AccessTokenStore } from './access-token.store';
import { OfficialAccountClient } from './official-account.client';

/**
 * The official account's API client with the database-shared access token. Imported by the data
 * roles only (the web role never needs a token).
 */
@Module({
  imports: [HttpModule],
  providers: [AccessTokenStore, OfficialAccountClient],
  exports: [OfficialAccountClient],
})
export class WechatModule {}
