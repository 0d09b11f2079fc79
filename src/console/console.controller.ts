import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { SkipThrottle, ThrottlerGuard } from '@nestjs/throttler';
import { MenuService } from '../auth/menu.service';
import { BindingService } from '../binding/binding.service';
import { DomainError } from '../common/errors';
import { ReconcileQueryDto } from '../admin/dto/admin-refund.dto';
import { ReconciliationService } from '../payment/reconciliation/reconciliation.service';
import { AnomalyService } from '../payment/anomaly.service';
import { PaymentQueryService } from '../payment/payment-query.service';
import { AnomalyNotFoundError, OrderNotFoundError } from '../payment/payment.errors';
import { RefundQueryService } from '../payment/refunds/refund-query.service';
import { RefundRequestService } from '../payment/refunds/refund-request.service';
import { SupportService } from '../admin/support.service';
import { ConsoleAuditService } from './console-audit.service';
import { ConsoleAuthGuard, ConsoleRequest } from './console-auth.guard';
import { ConsoleDashboardService } from './console-dashboard.service';
import { ConsoleOpsService } from './console-ops.service';
import {
  AnomalyListQueryDto,
  AuditQueryDto,
  ConsoleAdjustDto,
  ConsoleRefundDto,
  ConsoleUnbindDto,
  ConsoleUserQueryDto,
  DashboardQueryDto,
  RefundPreviewQueryDto,
  ResolveAnomalyDto,
} from './dto/console.dto';

const ORDER_NO = /^[A-Za-z0-9_\-|*@]{1,64}$/;

/**
 * The operator console's API (docs/operator-guide.md): thin — each action is one call to the
 * service that already owns the rule (support adjustments, refunds, reconciliation, the menu),
 * then one `console_audit` row with the state before and after. A refused action is audited too.
 */
@ApiExcludeController()
@Controller('api/v1/console')
@UseGuards(ThrottlerGuard, ConsoleAuthGuard)
@SkipThrottle({ qrPerClient: true })
export class ConsoleController {
  constructor(
    private readonly dashboards: ConsoleDashboardService,
    private readonly support: SupportService,
    private readonly bindings: BindingService,
    private readonly refunds: RefundRequestService,
    private readonly refundViews: RefundQueryService,
    private readonly reconciliation: ReconciliationService,
    private readonly payments: PaymentQueryService,
    private readonly anomalyResolutions: AnomalyService,
    private readonly menus: MenuService,
    private readonly ops: ConsoleOpsService,
    private readonly audit: ConsoleAuditService,
  ) {}

  @Get('dashboard')
  async dashboard(@Query() q: DashboardQueryDto) {
    return { success: true, ...(await this.dashboards.dashboard(q.days ?? 30)) };
  }

  /** The support lookup, plus each order's refunds and the audit of this user. */
  @Get('users')
  async user(@Query() q: ConsoleUserQueryDto) {
    const found = await this.support.lookup(q);
    const orders = await Promise.all(
      found.orders.map(async (o) => ({
        ...o,
        refunds: o.status === 'paid' || o.status === 'refunded' ? await this.refundViews.listForOrder(o.order_no) : [],
      })),
    );
    return { ...found, orders, audit: await this.audit.list({ target: `user:${found.user.openid}`, limit: 50 }) };
  }

  @Post('users/adjust')
  @HttpCode(200)
  async adjust(@Req() req: ConsoleRequest, @Body() dto: ConsoleAdjustDto) {
    const before = await this.balance(dto.openid);
    return this.audited(
      req,
      'adjust',
      `user:${dto.openid}`,
      { remaining_credits: before, delta: dto.delta, reason: dto.reason },
      async () => {
        const r = await this.support.adjust({
          openid: dto.openid,
          delta: dto.delta,
          note: dto.reason,
          request_id: `console:${dto.request_id}`,
        });
        return { result: r, after: { remaining_credits: r.remaining_credits, applied: r.applied } };
      },
    );
  }

  @Post('users/unbind')
  @HttpCode(200)
  async unbind(@Req() req: ConsoleRequest, @Body() dto: ConsoleUnbindDto) {
    return this.audited(req, 'unbind', `user:${dto.openid}`, { binding_id: dto.binding_id }, async () => {
      if (!(await this.bindings.unbind(dto.openid, dto.binding_id))) throw new DomainError(404, '绑定不存在');
      return { result: { success: true }, after: { binding_id: dto.binding_id, status: 'pending' } };
    });
  }

  @Get('orders/:order_no/refund-preview')
  async refundPreview(@Param('order_no') orderNo: string, @Query() q: RefundPreviewQueryDto) {
    if (!ORDER_NO.test(orderNo)) throw new OrderNotFoundError();
    return { success: true, ...(await this.refundViews.preview(orderNo, q.amount_fen)) };
  }

  @Post('orders/:order_no/refund')
  @HttpCode(200)
  async refund(@Req() req: ConsoleRequest, @Param('order_no') orderNo: string, @Body() dto: ConsoleRefundDto) {
    if (!ORDER_NO.test(orderNo)) throw new OrderNotFoundError();
    const before = await this.refundViews.preview(orderNo, dto.amount_fen);
    const target = `order:${orderNo}`;
    const facts = {
      order_status: before.order_status,
      refundable_fen: before.refundable_fen,
      requested_fen: dto.amount_fen ?? before.refundable_fen,
      note: dto.note,
    };
    return this.audited(req, 'refund', target, facts, async () => {
      const r = await this.refunds.requestRefund({
        orderNo,
        amountFen: dto.amount_fen,
        note: dto.note,
        requestId: `console:${dto.request_id}`,
      });
      // The user's history shows it too.
      await this.audit.record({
        operator: req.consoleCaller!.openid,
        requestId: req.consoleCaller!.requestId,
        action: 'refund',
        target: `user:${before.openid}`,
        after: { order_no: orderNo, refund_no: r.refund.refund_no, amount_fen: r.refund.amount_fen },
      });
      return {
        result: { success: true, created: r.created, refund: r.refund, order: { order_no: orderNo, status: r.orderStatus } },
        after: {
          refund_no: r.refund.refund_no,
          refund_status: r.refund.status,
          amount_fen: r.refund.amount_fen,
          order_status: r.orderStatus,
          created: r.created,
        },
      };
    });
  }

  @Get('anomalies')
  async anomalies(@Query() q: AnomalyListQueryDto) {
    return {
      success: true,
      anomalies: await this.payments.anomalies({ ...q, since: q.since === undefined ? undefined : new Date(q.since) }),
    };
  }

  @Post('anomalies/:id/resolve')
  @HttpCode(200)
  async resolve(@Req() req: ConsoleRequest, @Param('id') id: string, @Body() dto: ResolveAnomalyDto) {
    if (!/^\d{1,18}$/.test(id)) throw new AnomalyNotFoundError();
    const before = await this.payments.anomaly(Number(id));
    return this.audited(req, 'resolve_anomaly', `anomaly:${id}`, before, async () => {
      await this.anomalyResolutions.resolve(Number(id), req.consoleCaller!.openid, dto.note);
      const after = await this.payments.anomaly(Number(id));
      return { result: { success: true, anomaly: after }, after };
    });
  }

  @Get('reconciliation')
  async reconciliationRuns() {
    return { success: true, runs: await this.payments.reconciliationRuns() };
  }

  @Get('reconciliation/:date')
  async reconciliationDay(@Param() p: ReconcileQueryDto) {
    return { success: true, date: p.date, differences: await this.payments.reconciliationDifferences(p.date) };
  }

  /** Re-runs a date: the same comparison as the daily job and `GET /admin/reconcile` (lost payments applied once). */
  @Post('reconciliation/:date/run')
  @HttpCode(200)
  async rerun(@Req() req: ConsoleRequest, @Param() p: ReconcileQueryDto) {
    return this.audited(req, 'reconcile', `reconciliation:${p.date}`, undefined, async () => {
      const report = await this.reconciliation.reconcile(p.date, { apply: true });
      const applied = report.differences.filter((d) => d.applied).map((d) => d.order_no);
      return {
        result: { success: true, ...report },
        after: { bill_lines: report.bill_lines, matched: report.matched, differences: report.differences.length, applied },
      };
    });
  }

  @Get('jobs')
  async jobs() {
    return { success: true, jobs: await this.ops.jobs() };
  }

  /** The menu WeChat shows now, and the one this service would publish (built from config). */
  @Get('menu')
  async menu() {
    const live = await this.menus.get().catch((e: unknown) => ({ error: e instanceof DomainError ? e.detail : 'unavailable' }));
    return { success: true, live, configured: this.menus.defaultMenu() };
  }

  @Post('menu/publish')
  @HttpCode(200)
  async publishMenu(@Req() req: ConsoleRequest) {
    const before = await this.menus.get().then(
      (m) => m.menu,
      () => null,
    );
    return this.audited(req, 'menu_publish', 'menu', before, async () => {
      const r = await this.menus.create();
      return { result: r, after: r.menu_structure };
    });
  }

  @Get('audit')
  async auditList(@Query() q: AuditQueryDto) {
    return { success: true, entries: await this.audit.list({ target: q.target, limit: 200 }) };
  }

  private async balance(openid: string): Promise<number | null> {
    return this.ops.balance(openid);
  }

  /** Runs the action and writes its audit row: the after state, or the refusal (then rethrows). */
  private async audited<T>(
    req: ConsoleRequest,
    action: string,
    target: string,
    before: unknown,
    work: () => Promise<{ result: T; after: unknown }>,
  ): Promise<T> {
    const caller = req.consoleCaller!;
    try {
      const { result, after } = await work();
      await this.audit.record({ operator: caller.openid, requestId: caller.requestId, action, target, before, after });
      return result;
    } catch (err) {
      if (err instanceof DomainError) {
        const refused = { status: err.status, detail: err.detail };
        await this.audit.record({
          operator: caller.openid,
          requestId: caller.requestId,
          action: `${action}_refused`.slice(0, 32),
          target,
          before,
          after: refused,
        });
      }
      throw err;
    }
  }
}
