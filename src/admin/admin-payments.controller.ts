import { Body, Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminKeyGuard } from '../common/admin-key.guard';
import { DomainError } from '../common/errors';
import { OrderNotFoundError } from '../payment/payment.errors';
import { ReconciliationService } from '../payment/reconciliation/reconciliation.service';
import { RefundRequestService } from '../payment/refunds/refund-request.service';
import { auditLog } from './admin-audit';
import { AdminRefundDto, ReconcileQueryDto } from './dto/admin-refund.dto';

/**
 * Refunds and reconciliation for the people running the account (docs/ops.md), behind `X-Admin-Key`
 * (403 when no key is configured, 401 when wrong). Thin: one service call each, one audit line each.
 */
@ApiTags('admin')
@ApiHeader({ name: 'X-Admin-Key', required: true })
@UseGuards(AdminKeyGuard)
@Controller('api/v1/admin')
export class AdminPaymentsController {
  constructor(
    private readonly refunds: RefundRequestService,
    private readonly reconciliation: ReconciliationService,
  ) {}

  @Post('orders/:order_no/refund')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Refund (part of) a paid order at WeChat Pay; idempotent per request_id. The order stays paid until WeChat confirms.',
  })
  async refund(@Param('order_no') orderNo: string, @Body() dto: AdminRefundDto) {
    if (!/^[A-Za-z0-9_\-|*@]{1,64}$/.test(orderNo)) throw new OrderNotFoundError();
    try {
      const r = await this.refunds.requestRefund({ orderNo, amountFen: dto.amount_fen, note: dto.note, requestId: dto.request_id });
      auditLog('refund', {
        order_no: orderNo,
        request_id: dto.request_id,
        refund_no: r.refund.refund_no,
        amount_fen: r.refund.amount_fen,
        created: r.created,
        refund_status: r.refund.status,
        order_status: r.orderStatus,
        note: dto.note,
      });
      return { success: true, created: r.created, refund: r.refund, order: { order_no: orderNo, status: r.orderStatus } };
    } catch (err) {
      if (err instanceof DomainError)
        auditLog('refund refused', {
          order_no: orderNo,
          request_id: dto.request_id,
          amount_fen: dto.amount_fen,
          status: err.status,
          detail: err.detail,
        });
      throw err;
    }
  }

  @Get('reconcile')
  @ApiOperation({
    summary: "Compare WeChat Pay's trade bill of a day with our orders; payments WeChat took that we missed are applied once",
  })
  async reconcile(@Query() q: ReconcileQueryDto) {
    const report = await this.reconciliation.reconcile(q.date, { apply: true });
    const applied = report.differences.filter((d) => d.applied).map((d) => d.order_no);
    auditLog('reconcile', {
      date: q.date,
      bill_lines: report.bill_lines,
      matched: report.matched,
      differences: report.differences.length,
      applied: applied.length ? applied.join(',') : 'none',
    });
    return { success: true, ...report };
  }
}
