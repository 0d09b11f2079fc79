import { Injectable, Logger } from '@nestjs/common';
import { BindingService } from '../binding/binding.service';
import { Clock } from '../common/clock';
import { DomainError } from '../common/errors';
import { maskId } from '../common/redact';
import { toIsoShanghai } from '../common/time-format';
import { DatabaseService } from '../database/database.service';
import { AnomalyView, PaymentQueryService } from '../payment/payment-query.service';
import { grant, LedgerService, takeBack } from '../user/ledger.service';
import { UserQueryService } from '../user/user-query.service';
import { isActiveMember, UserService } from '../user/user.service';

/** The ledger entries a lookup shows, newest first. */
const LEDGER_ENTRIES = 50;

/**
 * What support needs to answer "where are my credits?" (docs/ops.md): one lookup by openid, client_id
 * or order number; idempotent manual adjustments through the ledger; the anomaly list.
 */
@Injectable()
export class SupportService {
  private readonly logger = new Logger('Support');

  constructor(
    private readonly db: DatabaseService,
    private readonly ledger: LedgerService,
    private readonly users: UserService,
    private readonly userQueries: UserQueryService,
    private readonly bindings: BindingService,
    private readonly payments: PaymentQueryService,
    private readonly clock: Clock,
  ) {}

  async lookup(by: { openid?: string; client_id?: string; order_no?: string }) {
    const openid = await this.ownerOf(by);
    if (!openid) throw new DomainError(404, '用户不存在');
    const user = await this.users.findByOpenid(openid);
    if (!user) throw new DomainError(404, '用户不存在');
    const bindings = await this.bindings.allOfOpenid(openid);
    const { data: ledger } = await this.userQueries.creditsLedger(openid, { limit: LEDGER_ENTRIES });
    const orders = await this.payments.latestOrders(openid);
    const anomalies = await this.payments.anomaliesOfOrders(orders.map((o) => o.order_no));
    return {
      success: true,
      user: {
        openid: user.openid,
        is_member: isActiveMember(user, this.clock.now()),
        member_lifetime: user.memberLifetime,
        member_expire_at: toIsoShanghai(user.memberExpireAt),
        subscribed: user.subscribed,
        total_credits: user.totalCredits,
        used_credits: user.usedCredits,
        remaining_credits: user.remainingCredits,
        total_paid_amount: Number(user.totalPaidAmount),
        created_at: toIsoShanghai(user.createdAt),
        last_active_time: toIsoShanghai(user.lastActiveTime),
      },
      bindings: bindings.map((b) => ({ ...b, completed_at: toIsoShanghai(b.completed_at) })),
      orders,
      ledger,
      anomalies: anomalies.map(supportAnomaly),
    };
  }

  /** The openid a lookup names: itself, the user bound to a client_id, or an order's owner (null: none). */
  private async ownerOf(by: { openid?: string; client_id?: string; order_no?: string }): Promise<string | null> {
    if (by.openid) return by.openid;
    if (by.client_id) return (await this.bindings.find(by.client_id))?.openid ?? null;
    if (by.order_no) return this.payments.orderOwner(by.order_no);
    throw new DomainError(400, 'openid: one of openid, client_id, order_no is required');
  }

  /** An `admin_adjust` ledger entry keyed by request_id: a retried request applies once; never below zero (400). */
  async adjust(req: { openid: string; delta: number; note: string; request_id: string }) {
    const result = await this.db.transaction(async (em) => {
      const user = await this.users.findByOpenidIn(em, req.openid);
      if (!user) throw new DomainError(404, '用户不存在');
      try {
        const r = await this.ledger.apply(em, {
          openid: req.openid,
          reason: 'admin_adjust',
          ref: req.request_id,
          change: req.delta > 0 ? grant(req.delta) : takeBack(-req.delta),
        });
        if (r.applied) return { applied: true, remaining_credits: await this.ledger.balance(em, req.openid) };
      } catch (err) {
        if ((err as DomainError).status === 402)
          throw new DomainError(400, `delta: would take the balance below zero (remaining ${user.remainingCredits})`);
        throw err;
      }
      const first = await this.ledger.find(em, 'admin_adjust', req.request_id);
      if (first && (first.openid !== req.openid || first.delta !== req.delta))
        throw new DomainError(409, 'request_id: already used for another adjustment');
      return { applied: false, remaining_credits: await this.ledger.balance(em, req.openid) };
    });
    if (result.applied) {
      this.logger.log(
        `admin_adjust ${req.delta > 0 ? '+' : ''}${req.delta} for ${maskId(req.openid)} (request ${req.request_id}): ${req.note.slice(0, 200)}`,
      );
    }
    return { success: true, ...result };
  }

  async anomalies(since?: string) {
    const from = since ? new Date(since) : new Date(this.clock.nowMs() - 30 * 86400_000);
    return { success: true, anomalies: (await this.payments.anomalies({ status: 'all', since: from })).map(supportAnomaly) };
  }
}

/** What support shows of an anomaly (the console shows its resolution too). */
function supportAnomaly(a: AnomalyView) {
  return { id: a.id, order_no: a.order_no, kind: a.kind, detail: a.detail, created_at: a.created_at };
}
