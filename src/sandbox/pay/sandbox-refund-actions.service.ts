import { Injectable, Logger } from '@nestjs/common';
import { RefundState } from '../core/sandbox-records';
import { json, SandboxReply } from '../core/sandbox-reply';
import { SandboxStore } from '../core/sandbox.store';
import { RefundActionDto } from './dto/sandbox-pay-actions.dto';
import { SandboxNotifyService } from './sandbox-notify.service';
import { SandboxRefundsService } from './sandbox-refunds.service';

const RESULT: Record<NonNullable<RefundActionDto['result']>, Exclude<RefundState, 'PROCESSING'>> = {
  success: 'SUCCESS',
  closed: 'CLOSED',
  abnormal: 'ABNORMAL',
};

/**
 * WeChat Pay's side of a refund, driven by hand (`refund: manual`, or to resend): finish a
 * PROCESSING refund with a result and send its notification — once, never, late, or as
 * concurrent duplicates (the pay action's machinery).
 */
@Injectable()
export class SandboxRefundActionsService {
  private readonly logger = new Logger('Sandbox');

  constructor(
    private readonly store: SandboxStore,
    private readonly refunds: SandboxRefundsService,
    private readonly notify: SandboxNotifyService,
  ) {}

  async act(dto: RefundActionDto): Promise<SandboxReply> {
    const refund = this.store.refundByOutRefundNo(dto.out_refund_no);
    if (!refund) return json({ ok: false, error: 'unknown out_refund_no' }, 404);
    if (dto.result) {
      const wanted = RESULT[dto.result];
      if (!this.refunds.finish(refund, wanted) && refund.state !== wanted) {
        return json({ ok: false, error: `refund is already ${refund.state}`, state: refund.state }, 409);
      }
    } else if (refund.state === 'PROCESSING') {
      return json({ ok: false, error: 'refund is PROCESSING: give result success, closed or abnormal' }, 409);
    }
    this.logger.debug(`refund ${refund.outRefundNo}: ${refund.state}, notify ${dto.notify ?? 'now'}`);
    const notify = await this.notify.deliverRefund(refund, dto.notify ?? 'now', { delayMs: dto.delay_ms, copies: dto.copies });
    return json({ ok: true, out_refund_no: refund.outRefundNo, out_trade_no: refund.outTradeNo, state: refund.state, notify });
  }
}
