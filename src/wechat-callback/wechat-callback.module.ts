import { Module } from '@nestjs/common';

/** What WeChat calls: server verification, message push, pay notify. Verifies and decodes, then calls InternalApi; never touches the database. */
@Module({})
export class WechatCallbackModule {}
