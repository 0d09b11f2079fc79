import { Body, Controller, Get, Post, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { SandboxFaultsService } from '../core/sandbox-faults.service';
import { json, sendReply } from '../core/sandbox-reply';
import { ClockDto } from './dto/sandbox-clock.dto';
import { SandboxAdminService } from './sandbox-admin.service';

/** The sandbox's home page, JS bridge and test controls. */
@ApiExcludeController()
@Controller('sandbox')
export class SandboxHomeController {
  constructor(
    private readonly admin: SandboxAdminService,
    private readonly faults: SandboxFaultsService,
  ) {}

  @Get()
  home(@Res() res: Response) {
    sendReply(res, this.admin.home());
  }

  @Get('jsbridge.js')
  jsbridge(@Res() res: Response) {
    sendReply(res, this.admin.jsbridge());
  }

  @Get('stats')
  stats(@Res() res: Response) {
    sendReply(res, json(this.admin.stats()));
  }

  @Get('faults')
  getFaults(@Res() res: Response) {
    sendReply(res, json(this.faults.current()));
  }

  @Post('faults')
  setFaults(@Body() body: Record<string, unknown>, @Res() res: Response) {
    sendReply(res, json(this.faults.update(body ?? {})));
  }

  @Post('reset')
  reset(@Res() res: Response) {
    sendReply(res, this.admin.reset());
  }

  @Get('orders')
  orders(@Res() res: Response) {
    sendReply(res, this.admin.orders());
  }

  @Get('users')
  users(@Res() res: Response) {
    sendReply(res, this.admin.users());
  }

  @Get('refunds')
  refunds(@Res() res: Response) {
    sendReply(res, this.admin.refunds());
  }

  @Get('deliveries')
  deliveries(@Res() res: Response) {
    sendReply(res, this.admin.deliveries());
  }

  @Post('clock')
  clock(@Body() dto: ClockDto, @Res() res: Response) {
    sendReply(res, this.admin.advanceClock(dto.advance_seconds));
  }
}
