import { Module } from '@nestjs/common';

/** The local WeChat simulator (sandbox.md), mounted under /sandbox only when WECHAT_SANDBOX=true. */
@Module({})
export class SandboxModule {}
