import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Clock } from '../../common/clock';
import { parseWechatXml } from '../../wechat/xml';
import { sendHttp, snippet } from '../core/sandbox-http';
import { DeliveryKind, DeliveryRecord, DeliveryState, SandboxOrder, SandboxRefund } from '../core/sandbox-records';
import { SandboxTimers } from '../core/sandbox-timers.service';
import { DEFAULT_LATE_MS, NOTIFY_RETRY_DELAYS_MS, OUTGOING_TIMEOUT_MS } from '../core/sandbox.constants';
import { SandboxStore } from '../core/sandbox.store';
import { SandboxRefundsService } from './sandbox-refunds.service';
import { SandboxV2Documents } from './v2/sandbox-v2-documents.service';
import { SandboxV3Documents } from './v3/sandbox-v3-documents.service';
import { SandboxV3Replies } from './v3/sandbox-v3-replies.service';

export type NotifyMode = 'now' | 'never' | 'duplicate' | 'late';

export interface NotifyOutcome {
  mode: NotifyMode;
  /** The deliveries started (first attempts done, except `late`); retries continue in the background. */
  deliveries: DeliveryRecord[];
  note?: string;
}

interface AttemptResult {
  ok: boolean;
}

/** One notification document and where it goes; the protocol decides headers and what counts as acknowledged. */
interface Outgoing {
  version: 'v2' | 'v3';
  kind: DeliveryKind;
  target: string;
  summary: string;
  body: string;
}

/**
 * Pay and refund notifications to the `notify_url` they were placed with, as WeChat Pay sends them:
 * v2 XML signed with the API key (refunds: `req_info` encrypted instead of signed), v3 JSON with an
 * AES-256-GCM resource and `Wechatpay-*` headers from the platform key.
 * A FAIL answer, a non-2xx status or no answer is retried on a short schedule (0.5 s, 1 s, 2 s,
 * 4 s, 8 s: six attempts); v2 retries resend the same document, v3 retries the same body with
 * fresh signature headers (what WeChat's own retries look like).
 */
@Injectable()
export class SandboxNotifyService {
  private readonly logger = new Logger('Sandbox');

  constructor(
    private readonly store: SandboxStore,
    private readonly v2: SandboxV2Documents,
    private readonly v3: SandboxV3Documents,
    private readonly v3Replies: SandboxV3Replies,
    private readonly timers: SandboxTimers,
    private readonly clock: Clock,
    refunds: SandboxRefundsService,
  ) {
    // Refunds the sandbox finishes on its own are notified like WeChat does: at once, retried.
    refunds.onAutoResult(
      (refund) =>
        void this.deliverRefund(refund, 'now').catch((e) => this.logger.debug(`refund notification failed: ${(e as Error).message}`)),
    );
  }

  async deliver(order: SandboxOrder, mode: NotifyMode, options: { delayMs?: number; copies?: number } = {}): Promise<NotifyOutcome> {
    const doc = (body: string): Outgoing => ({
      version: order.version,
      kind: order.version === 'v2' ? 'pay_v2' : 'pay_v3',
      target: order.notifyUrl,
      summary: `${order.outTradeNo} ${order.state} ${order.totalFen} fen`,
      body,
    });
    if (order.version === 'v3' && order.state !== 'SUCCESS') {
      return { mode, deliveries: [this.record(doc(''), 'not_sent')], note: 'APIv3 sends notifications for successful payments only' };
    }
    if (this.store.faults.notify === 'drop') {
      return { mode, deliveries: [this.record(doc(''), 'dropped')], note: 'notify fault "drop": nothing sent' };
    }
    if (mode === 'never') return { mode, deliveries: [], note: 'no notification sent (the app must query the order)' };
    return this.send(doc(order.version === 'v2' ? this.v2.notificationXml(order) : this.v3.notificationBody(order)), mode, options);
  }

  /**
   * A refund's result notification: v2 to the refund's notify_url with `req_info` (AES-256-ECB),
   * v3 a REFUND.* event with an AES-256-GCM resource — same retries and duplicates as payments.
   */
  async deliverRefund(
    refund: SandboxRefund,
    mode: NotifyMode,
    options: { delayMs?: number; copies?: number } = {},
  ): Promise<NotifyOutcome> {
    const doc = (body: string): Outgoing => ({
      version: refund.version,
      kind: refund.version === 'v2' ? 'refund_v2' : 'refund_v3',
      target: refund.notifyUrl,
      summary: `${refund.outRefundNo} (${refund.outTradeNo}) ${refund.state} ${refund.refundFen}/${refund.totalFen} fen`,
      body,
    });
    if (refund.state === 'PROCESSING')
      return { mode, deliveries: [this.record(doc(''), 'not_sent')], note: 'the refund has no result yet' };
    if (!refund.notifyUrl) return { mode, deliveries: [this.record(doc(''), 'not_sent')], note: 'the refund request named no notify_url' };
    if (this.store.faults.notify === 'drop') {
      return { mode, deliveries: [this.record(doc(''), 'dropped')], note: 'notify fault "drop": nothing sent' };
    }
    if (mode === 'never') return { mode, deliveries: [], note: 'no notification sent (the app must query the refund)' };
    return this.send(
      doc(refund.version === 'v2' ? this.v2.refundNotificationXml(refund) : this.v3.refundNotificationBody(refund)),
      mode,
      options,
    );
  }

  private async send(doc: Outgoing, mode: NotifyMode, options: { delayMs?: number; copies?: number }): Promise<NotifyOutcome> {
    if (mode === 'late') {
      const record = this.record(doc, 'scheduled');
      const delayMs = options.delayMs ?? DEFAULT_LATE_MS;
      void (async () => {
        if (!(await this.timers.delay(delayMs))) {
          record.state = 'cancelled';
          return;
        }
        record.state = 'pending';
        if (!(await this.attempt(doc, record)).ok) await this.retry(doc, record);
      })();
      return { mode, deliveries: [record], note: `first attempt in ${delayMs} ms` };
    }

    const copies = mode === 'duplicate' ? (options.copies ?? 3) : 1;
    const records = Array.from({ length: copies }, () => this.record(doc, 'pending'));
    await Promise.all(
      records.map(async (record) => {
        if (!(await this.attempt(doc, record)).ok) void this.retry(doc, record);
      }),
    );
    return { mode, deliveries: records };
  }

  private record(doc: Outgoing, state: DeliveryState): DeliveryRecord {
    return this.store.addDelivery({
      id: randomUUID(),
      kind: doc.kind,
      target: doc.target,
      summary: doc.summary,
      state,
      attempts: [],
      createdAt: this.clock.nowMs(),
    });
  }

  private async retry(doc: Outgoing, record: DeliveryRecord): Promise<void> {
    for (const pause of NOTIFY_RETRY_DELAYS_MS) {
      if (!(await this.timers.delay(pause))) {
        record.state = 'cancelled';
        return;
      }
      if ((await this.attempt(doc, record)).ok) return;
    }
    record.state = 'gave_up';
    this.logger.debug(`notification ${doc.summary} gave up after ${record.attempts.length} attempts`);
  }

  private async attempt(doc: Outgoing, record: DeliveryRecord): Promise<AttemptResult> {
    const headers: Record<string, string> =
      doc.version === 'v2'
        ? { 'Content-Type': 'text/xml' }
        : { 'Content-Type': 'application/json', ...this.v3Replies.signHeaders(doc.body) };
    const { signal, release } = this.timers.abortable();
    const at = this.clock.nowMs();
    this.store.count('notifications_sent');
    try {
      const answer = await sendHttp(doc.target, { method: 'POST', headers, body: doc.body, timeoutMs: OUTGOING_TIMEOUT_MS, signal });
      const text = answer.body.toString('utf8');
      const ok =
        doc.version === 'v2' ? answer.status === 200 && (await this.v2Acknowledged(text)) : answer.status >= 200 && answer.status < 300;
      record.attempts.push({ at, ok, status: answer.status, answer: snippet(text) });
      if (ok) {
        record.state = 'delivered';
        this.store.count('notifications_acknowledged');
      }
      return { ok };
    } catch (e) {
      record.attempts.push({ at, ok: false, error: (e as Error).message });
      return { ok: false };
    } finally {
      release();
    }
  }

  /** v2: only `<return_code>SUCCESS</return_code>` stops WeChat's retries. */
  private async v2Acknowledged(text: string): Promise<boolean> {
    try {
      return (await parseWechatXml(text)).return_code === 'SUCCESS';
    } catch {
      return false;
    }
  }
}
