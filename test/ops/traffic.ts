import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { SANDBOX_CREDENTIALS } from '../../src/config/sandbox-defaults';
import { AppConfig } from '../../src/config/app-config';
import { signSessionToken } from '../../src/common/session-token';
import { v2Notification } from '../support/pay-notifications';
import { eventXml, signedPush, WechatKeys } from '../support/wechat-push';
import { accepted, SeededOrder } from '../resilience/resilience-support';

/**
 * Steady mixed traffic for the reload/restart tests (docs/deploy.md "Restart and reload"): the
 * three kinds of requests that matter — WeChat pushes, WeChat Pay notifications and a page's
 * credits read — each on a new connection (as lighttpd and nginx talk to the app), so a request
 * fails only if the service loses it, never because of a client's stale keep-alive socket.
 */

export const SANDBOX_KEYS: WechatKeys = {
  token: SANDBOX_CREDENTIALS.WECHAT_TOKEN,
  appId: SANDBOX_CREDENTIALS.WECHAT_APPID,
  encodingAesKey: SANDBOX_CREDENTIALS.WECHAT_ENCODING_AES_KEY,
};

export interface Reply {
  status: number;
  text: string;
}

/** One HTTP/1.1 request on its own connection (Connection: close). */
export function oneShot(
  origin: string,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<Reply> {
  const u = new URL(origin);
  return new Promise((resolve, reject) => {
    const body = opts.body === undefined ? undefined : Buffer.from(opts.body);
    const headers: Record<string, string | number> = { connection: 'close', ...opts.headers };
    if (body) headers['content-length'] = body.length;
    const req = request({ host: u.hostname, port: u.port, path, method: opts.method ?? 'GET', headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.setTimeout(opts.timeoutMs ?? 60_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

export interface Outcome {
  kind: 'push' | 'notify' | 'credits';
  ok: boolean;
  ms: number;
  detail?: string;
}

export interface TrafficSubject {
  url: string;
  config: AppConfig;
  /** Orders a notification may pay (cycled: later ones are WeChat's duplicates, acknowledged again). */
  orders: SeededOrder[];
  /** A user whose credits are read. */
  openid: string;
  /** Prefix of the openids of the subscribe pushes (each push a new follower). */
  tag: string;
}

/** One request of kind i % 3, judged by what WeChat or the page needs to see. */
export async function mixedRequest(s: TrafficSubject, i: number): Promise<Outcome> {
  const started = Date.now();
  const kind = (['push', 'notify', 'credits'] as const)[i % 3];
  try {
    let ok: boolean;
    let r: Reply;
    if (kind === 'push') {
      const push = signedPush(SANDBOX_KEYS, 'plaintext', eventXml(`${s.tag}${i}`, 'subscribe'));
      r = await oneShot(s.url, push.path(), { method: 'POST', headers: { 'content-type': 'text/xml' }, body: push.body });
      ok = r.status === 200 && r.text.includes('<MsgType><![CDATA[text]]></MsgType>');
    } else if (kind === 'notify') {
      const o = s.orders[Math.floor(i / 3) % s.orders.length];
      const n = v2Notification(s.config, { orderNo: o.orderNo, totalFen: o.totalFen, openid: o.openid, transactionId: o.transactionId });
      r = await oneShot(s.url, '/api/v1/payment/notify', { method: 'POST', headers: n.headers, body: n.body });
      ok = accepted('v2', r);
    } else {
      const token = signSessionToken(s.config.session.secret, s.openid, Math.floor(Date.now() / 1000), 3600);
      r = await oneShot(s.url, '/api/v1/user/credits', { headers: { authorization: `Bearer ${token}` } });
      ok = r.status === 200 && /"remaining_credits"/.test(r.text);
    }
    return { kind, ok, ms: Date.now() - started, detail: ok ? undefined : `${r.status} ${r.text.slice(0, 160)}` };
  } catch (err) {
    return { kind, ok: false, ms: Date.now() - started, detail: (err as Error).message };
  }
}

/** `concurrency` clients sending back to back until `until` resolves (then the ones in flight finish). */
export async function steadyTraffic(
  send: (i: number) => Promise<Outcome>,
  concurrency: number,
  until: Promise<unknown>,
): Promise<Outcome[]> {
  let done = false;
  void until.finally(() => (done = true));
  const outcomes: Outcome[] = [];
  let n = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (!done) outcomes.push(await send(n++));
    }),
  );
  return outcomes;
}

export function summary(outcomes: Outcome[]): { total: number; failed: Outcome[]; maxMs: number; byKind: Record<string, number> } {
  const byKind: Record<string, number> = {};
  for (const o of outcomes) byKind[o.kind] = (byKind[o.kind] ?? 0) + 1;
  return { total: outcomes.length, failed: outcomes.filter((o) => !o.ok), maxMs: Math.max(0, ...outcomes.map((o) => o.ms)), byKind };
}

/** The pids of a process's children (a cluster primary's workers). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number).sort();
  } catch {
    return [];
  }
}
