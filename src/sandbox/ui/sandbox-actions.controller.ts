import { Body, Controller, Post, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { json, sendReply } from '../core/sandbox-reply';
import { OpenidActionDto, ScanActionDto, TextActionDto } from '../mp/dto/sandbox-user-actions.dto';
import { SandboxPushService } from '../mp/sandbox-push.service';
import { SandboxUsersService } from '../mp/sandbox-users.service';
import { PayActionDto, RefundActionDto, RenotifyActionDto } from '../pay/dto/sandbox-pay-actions.dto';
import { SandboxCheckoutService } from '../pay/sandbox-checkout.service';
import { SandboxRefundActionsService } from '../pay/sandbox-refund-actions.service';

/**
 * What a test user does on the phone (JSON bodies). Each answer reports what the sandbox sent and
 * what the app answered, so tests and the home page can show it.
 */
@ApiExcludeController()
@Controller('sandbox/actions')
export class SandboxActionsController {
  constructor(
    private readonly users: SandboxUsersService,
    private readonly checkout: SandboxCheckoutService,
    private readonly push: SandboxPushService,
    private readonly refunds: SandboxRefundActionsService,
  ) {}

  @Post('scan')
  async scan(@Body() dto: ScanActionDto, @Res() res: Response) {
    sendReply(res, await this.users.scan(dto));
  }

  @Post('subscribe')
  async subscribe(@Body() dto: OpenidActionDto, @Res() res: Response) {
    sendReply(res, await this.users.subscribe(dto));
  }

  @Post('unsubscribe')
  async unsubscribe(@Body() dto: OpenidActionDto, @Res() res: Response) {
    sendReply(res, await this.users.unsubscribe(dto));
  }

  @Post('text')
  async text(@Body() dto: TextActionDto, @Res() res: Response) {
    sendReply(res, await this.users.text(dto));
  }

  @Post('verify-server')
  async verifyServer(@Res() res: Response) {
    sendReply(res, json(await this.push.verifyServer()));
  }

  @Post('verify-pay-sign')
  verifyPaySign(@Body() params: Record<string, unknown>, @Res() res: Response) {
    sendReply(res, this.checkout.verifyPaySign(params));
  }

  @Post('pay')
  async pay(@Body() dto: PayActionDto, @Res() res: Response) {
    sendReply(res, await this.checkout.pay(dto));
  }

  @Post('renotify')
  async renotify(@Body() dto: RenotifyActionDto, @Res() res: Response) {
    sendReply(res, await this.checkout.renotify(dto));
  }

  @Post('refund')
  async refund(@Body() dto: RefundActionDto, @Res() res: Response) {
    sendReply(res, await this.refunds.act(dto));
  }
}
