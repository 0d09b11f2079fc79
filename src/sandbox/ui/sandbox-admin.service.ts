import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../../common/clock';
import { toIsoShanghai } from '../../common/time-format';
import { AppConfig } from '../../config/app-config';
import { randomNonce } from '../../wechat/nonce';
import { SandboxClock } from '../core/sandbox-clock';
import { SandboxOrder } from '../core/sandbox-records';
import { html, json, SandboxReply } from '../core/sandbox-reply';
import { SandboxTimers } from '../core/sandbox-timers.service';
import { SandboxStore } from '../core/sandbox.store';
import { newSandboxOpenid } from '../mp/sandbox-oauth.service';
import { SandboxKeysService } from '../pay/sandbox-keys.service';
import { renderHomePage } from './sandbox-home-page';
import { JSBRIDGE_JS } from './sandbox-jsbridge';

const MEMBER_PAGES = [
  { page: 'member.html', state: 'member', label: '开通会员 · member.html' },
  { page: 'credits.html', state: 'credits', label: '购买额度 · credits.html' },
  { page: 'credits_info.html', state: 'credits_info', label: '额度查询 · credits_info.html' },
];

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : toIsoShanghai(new Date(ms));
}

/** The sandbox's own pages and test controls: home, JS bridge, stats, reset, clock. */
@Injectable()
export class SandboxAdminService {
  private readonly logger = new Logger('Sandbox');
  /** How far this sandbox moved the shared clock, so reset can move it back. */
  private shiftedMs = 0;

  constructor(
    private readonly store: SandboxStore,
    private readonly timers: SandboxTimers,
    private readonly keys: SandboxKeysService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /**
   * An OAuth link for a member page with a fixed state, optionally pre-picking a user (the old menu's
   * link). The page refuses a code with a state it did not issue, so it starts a fresh login from it.
   */
  oauthLink(page: string, state: string, openid?: string): string {
    const q = new URLSearchParams({
      appid: this.config.wechat.appId,
      redirect_uri: `${this.config.http.publicBaseUrl}/wechat/${page}`,
      response_type: 'code',
      scope: 'snsapi_base',
      state,
    });
    if (openid) q.set('sandbox_openid', openid);
    return `${this.config.wechat.oauthBase}/connect/oauth2/authorize?${q.toString()}#wechat_redirect`;
  }

  home(): SandboxReply {
    return html(
      renderHomePage({
        // As the account menu: the page itself, which starts the OAuth with its own state.
        memberPages: MEMBER_PAGES.map((p) => ({ label: p.label, href: `${this.config.http.publicBaseUrl}/wechat/${p.page}` })),
        oauthLink: (page, state, openid) => this.oauthLink(page, state, openid),
        users: this.store.listUsers(),
        orders: this.store.recentOrders(20),
        deliveries: this.store.recentDeliveries(20),
        faults: this.store.faults,
        stats: this.stats(),
        info: {
          appid: this.config.wechat.appId,
          mch_id: this.config.pay.mchId,
          pay_version: this.config.pay.version,
          callback_base: this.config.wechat.sandboxCallbackBase,
          api_base: this.config.wechat.apiBase,
          pay_base: this.config.pay.base,
          keys: this.keys.paths.dir,
          public_key_id: this.config.pay.publicKeyId,
          platform_certificate_serial: this.keys.platformCertificate.serial,
        },
        suggestedOpenid: newSandboxOpenid(),
        suggestedClientId: `PC_demo_${randomNonce(10)}`,
      }),
    );
  }

  jsbridge(): SandboxReply {
    return {
      status: 200,
      headers: { 'Content-Type': 'application/javascript; charset=utf-8', 'Cache-Control': 'no-cache' },
      body: JSBRIDGE_JS,
    };
  }

  stats(): Record<string, number> {
    return {
      ...this.store.stats,
      users: this.store.listUsers().length,
      orders: this.store.recentOrders(Number.MAX_SAFE_INTEGER).length,
      tickets: this.store.tickets.size,
    };
  }

  orders(): SandboxReply {
    return json({ orders: this.store.recentOrders(50).map((o) => this.orderView(o)) });
  }

  users(): SandboxReply {
    return json({
      users: this.store.listUsers().map((u) => ({
        openid: u.openid,
        subscribed: u.subscribed,
        subscribed_at: iso(u.subscribedAt),
        first_seen: iso(u.firstSeen),
        last_seen: iso(u.lastSeen),
        via: u.via,
      })),
    });
  }

  deliveries(): SandboxReply {
    return json({ deliveries: this.store.recentDeliveries(50) });
  }

  refunds(): SandboxReply {
    return json({
      refunds: this.store
        .allRefunds()
        .slice(-50)
        .reverse()
        .map((r) => ({
          out_refund_no: r.outRefundNo,
          out_trade_no: r.outTradeNo,
          version: r.version,
          refund_id: r.refundId,
          refund_fen: r.refundFen,
          total_fen: r.totalFen,
          state: r.state,
          notify_url: r.notifyUrl || null,
          created_at: iso(r.createdAt),
          success_at: iso(r.successAt),
        })),
    });
  }

  private orderView(o: SandboxOrder): Record<string, unknown> {
    return {
      out_trade_no: o.outTradeNo,
      version: o.version,
      prepay_id: o.prepayId,
      description: o.description,
      amount_fen: o.totalFen,
      state: o.state,
      openid: o.openid,
      notify_url: o.notifyUrl,
      transaction_id: o.transactionId ?? null,
      refunded_fen: this.store
        .refundsOfOrder(o.outTradeNo)
        .filter((r) => r.state === 'SUCCESS')
        .reduce((sum, r) => sum + r.refundFen, 0),
      created_at: iso(o.createdAt),
      paid_at: iso(o.paidAt),
      expire_at: iso(o.expiresAt),
    };
  }

  /** Clears all state, counters and knobs, cancels pending deliveries and undoes clock moves. */
  reset(): SandboxReply {
    this.timers.cancelAll();
    this.store.reset();
    this.moveClock(-this.shiftedMs);
    this.logger.debug('sandbox reset');
    return json({ ok: true });
  }

  /** Moves the app's shared clock (tokens, codes, QR and order expiry, timestamps) for tests. */
  advanceClock(seconds: number): SandboxReply {
    if (!this.moveClock(seconds * 1000)) return json({ ok: false, error: 'the injected clock cannot be moved' }, 409);
    return json({ ok: true, now: toIsoShanghai(this.clock.now()), offset_seconds: this.shiftedMs / 1000 });
  }

  private moveClock(ms: number): boolean {
    if (!(this.clock instanceof SandboxClock)) return false;
    this.clock.shift(ms);
    this.shiftedMs += ms;
    return true;
  }
}
