import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Clock } from '../common/clock';
import { parseWechatXml } from '../wechat/xml';
import { DEFAULT_LATE_MS, NOTIFY_RETRY_DELAYS_MS, OUTGOING_TIMEOUT_MS } from './sandbox.constants';
import { sendHttp, snippet } from './sandbox-http';
import { SandboxPayV2Service } from './sandbox-pay-v2.service';
import { SandboxPayV3Service } from './sandbox-pay-v3.service';
import { DeliveryRecord, DeliveryState, SandboxOrder, SandboxStore } from './sandbox.store';
import { SandboxTimers } from './sandbox-timers.service';

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

/**
 * Pay notifications to the order's `notify_url`, as WeChat Pay sends them: v2 XML signed with the
 * API key, v3 JSON with an AES-256-GCM resource and `Wechatpay-*` headers from the platform key.
 * A FAIL answer, a non-2xx status or no answer is retried on a short schedule (0.5 s, 1 s, 2 s,
 * 4 s, 8 s: six attempts); v2 retries resend the same document, v3 retries the same body with
 * fresh signature headers (what WeChat's own retries look like).
 */
@Injectable()
export class SandboxNotifyService {
  private readonly logger = new Logger('Sandbox');

  constructor(
    private readonly store: SandboxStore,
    private readonly v2: SandboxPayV2Service,
    private readonly v3: SandboxPayV3Service,
    private readonly timers: SandboxTimers,
    private readonly clock: Clock,
  ) {}

  async deliver(order: SandboxOrder, mode: NotifyMode, options: { delayMs?: number; copies?: number } = {}): Promise<NotifyOutcome> {
    if (order.version === 'v3' && order.state !== 'SUCCESS') {
      return { mode, deliveries: [this.record(order, 'not_sent')], note: 'APIv3 sends notifications for successful payments only' };
    }
    if (this.store.faults.notify === 'drop') {
      return { mode, deliveries: [this.record(order, 'dropped')], note: 'notify fault "drop": nothing sent' };
    }
    if (mode === 'never') return { mode, deliveries: [], note: 'no notification sent (the app must query the order)' };

    const body = order.version === 'v2' ? this.v2.notificationXml(order) : this.v3.notificationBody(order);
    if (mode === 'late') {
      const record = this.record(order, 'scheduled');
      const delayMs = options.delayMs ?? DEFAULT_LATE_MS;
      void (async () => {
        if (!(await this.timers.delay(delayMs))) {
          record.state = 'cancelled';
          return;
        }
        record.state = 'pending';
        if (!(await this.attempt(order, body, record)).ok) await this.retry(order, body, record);
      })();
      return { mode, deliveries: [record], note: `first attempt in ${delayMs} ms` };
    }

    const copies = mode === 'duplicate' ? (options.copies ?? 3) : 1;
    const records = Array.from({ length: copies }, () => this.record(order, 'pending'));
    await Promise.all(
      records.map(async (record) => {
        if (!(await this.attempt(order, body, record)).ok) void this.retry(order, body, record);
      }),
    );
    return { mode, deliveries: records };
  }

  private record(order: SandboxOrder, state: DeliveryState): DeliveryRecord {
    return this.store.addDelivery({
      id: randomUUID(),
      kind: order.version === 'v2' ? 'pay_v2' : 'pay_v3',
      target: order.notifyUrl,
      summary: `${order.outTradeNo} ${order.state} ${order.totalFen} fen`,
      state,
      attempts: [],
      createdAt: this.clock.nowMs(),
    });
  }

  private async retry(order: SandboxOrder, body: string, record: DeliveryRecord): Promise<void> {
    for (const pause of NOTIFY_RETRY_DELAYS_MS) {
      if (!(await this.timers.delay(pause))) {
        record.state = 'cancelled';
        return;
      }
      if ((await this.attempt(order, body, record)).ok) return;
    }
    record.state = 'gave_up';
    this.logger.debug(`notification for ${order.outTradeNo} gave up after ${record.attempts.length} attempts`);
  }

  private async attempt(order: SandboxOrder, body: string, record: DeliveryRecord): Promise<AttemptResult> {
    const headers: Record<string, string> =
      order.version === 'v2'
        ? { 'Content-Type': 'text/xml' }
        : { 'Content-Type': 'application/json', ...this.v3.signHeaders(body) };
    const { signal, release } = this.timers.abortable();
    const at = this.clock.nowMs();
    this.store.count('notifications_sent');
    try {
      const answer = await sendHttp(order.notifyUrl, { method: 'POST', headers, body, timeoutMs: OUTGOING_TIMEOUT_MS, signal });
      const text = answer.body.toString('utf8');
      const ok = order.version === 'v2' ? answer.status === 200 && (await this.v2Acknowledged(text)) : answer.status >= 200 && answer.status < 300;
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
