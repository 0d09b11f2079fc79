import { DatabaseService } from '../../src/database/database.service';
import { internalSignature } from '../../src/common/internal-signature';
import { withLogsShownOnFailure } from '../setup/app-logs';
import { startApp, startAppOnFreshDb, TestApp } from '../setup/test-app';

const ADMIN_KEY = 'metrics-admin-key-0123456789';
const SECRET = 'metrics-internal-secret-0123456789';

async function metrics(app: TestApp, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const res = await fetch(`${app.url}/api/v1/internal/metrics`, { headers });
  return { status: res.status, text: await res.text() };
}

/** A sample's value, matching the name and the label set (every series also carries role="all"). */
function value(text: string, series: string): number {
  const parse = (sample: string) => {
    const m = /^([a-z_]+)(?:\{(.*)\})?$/.exec(sample)!;
    const labels = (m[2] ?? '').split(',').filter(Boolean).sort().join(',');
    return `${m[1]}|${labels}`;
  };
  const wanted = parse(series.includes('{') ? series.replace('}', ',role="all"}') : `${series}{role="all"}`);
  const line = text.split('\n').find((l) => !l.startsWith('#') && l.includes(' ') && parse(l.slice(0, l.lastIndexOf(' '))) === wanted);
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
}

describe('metrics [sqlite]', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startAppOnFreshDb('sqlite', { WECHAT_SANDBOX: 'true', ADMIN_API_KEY: ADMIN_KEY, INTERNAL_API_SECRET: SECRET });
  });

  afterAll(async () => {
    await app?.close();
  });

  it('refuses readers without the admin key or the internal signature', async () => {
    expect((await metrics(app, {})).status).toBe(401);
    expect((await metrics(app, { 'x-admin-key': 'wrong-key-wrong-key-wrong' })).status).toBe(401);
    const ts = String(Math.floor(Date.now() / 1000));
    expect((await metrics(app, { 'x-internal-timestamp': ts, 'x-internal-signature': 'f'.repeat(64) })).status).toBe(401);
  });

  it('counts pushes, token fetches and request durations after a QR binding through the sandbox', async () => {
    const qr = (await (
      await fetch(`${app.url}/api/v1/auth/wechat/qrcode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_id: 'PC_metrics_0001' }),
      })
    ).json()) as { ticket: string };
    await fetch(`${app.url}/sandbox/actions/scan`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ticket: qr.ticket, openid: 'oMetricsUser000000000000001' }),
    });

    const ts = String(Math.floor(Date.now() / 1000));
    const signed = await metrics(app, {
      'x-internal-timestamp': ts,
      'x-internal-signature': internalSignature(SECRET, 'GET', '/api/v1/internal/metrics', ts, ''),
    });
    expect(signed.status).toBe(200);
    const byKey = await metrics(app, { 'x-admin-key': ADMIN_KEY });
    expect(byKey.status).toBe(200);
    const text = byKey.text;
    expect(value(text, 'wechat_push_total{event="subscribe",result="ok"}')).toBe(1);
    expect(value(text, 'wechat_access_token_fetch_total')).toBe(1);
    expect(value(text, 'http_request_duration_seconds_count{method="POST",route="/api/v1/auth/wechat/qrcode",status="200"}')).toBe(1);
    expect(text).toContain('process_resident_memory_bytes');
    // Labels never carry ids or tokens.
    expect(text).not.toContain('PC_metrics_0001');
    expect(text).not.toContain('oMetricsUser');
  });

  it('counts notifications by result and anomalies by kind', () =>
    withLogsShownOnFailure(async () => {
      const { v2Notification } = await import('../support/pay-notifications');
      const { insertOrder } = await import('../support/seed');
      const ds = app.app.get(DatabaseService).dataSource;
      const openid = 'oMetricsPayer00000000000001';
      await insertOrder(ds, { orderNo: 'ORDMETRICS000000000001', openid, type: 'credits', amountFen: 990, credits: 10 });
      const send = (n: { headers: Record<string, string>; body: string }) =>
        fetch(`${app.url}/api/v1/payment/notify`, { method: 'POST', headers: n.headers, body: n.body });
      await send(v2Notification(app.config, { orderNo: 'ORDMETRICS000000000001', totalFen: 990, openid, transactionId: 'T-metrics-1' }));
      await send(v2Notification(app.config, { orderNo: 'ORDMETRICS000000000001', totalFen: 1, openid, transactionId: 'T-metrics-2' }));
      await send(
        v2Notification(
          app.config,
          { orderNo: 'ORDMETRICS000000000001', totalFen: 990, openid, transactionId: 'T-metrics-3' },
          {},
          { key: 'k'.repeat(32) },
        ),
      );
      const text = (await metrics(app, { 'x-admin-key': ADMIN_KEY })).text;
      expect(value(text, 'wechat_pay_notification_total{kind="payment",result="success"}')).toBe(1);
      expect(value(text, 'wechat_pay_notification_total{kind="payment",result="order_mismatch"}')).toBe(1);
      expect(value(text, 'wechat_pay_notification_total{kind="unverified",result="sign_error"}')).toBe(1);
      expect(value(text, 'payment_anomalies_total{kind="amount_mismatch"}')).toBe(1);
    }));

  it('a web-role instance times its internal calls to the app server', async () => {
    const { signedPush, eventXml } = await import('../support/wechat-push');
    const keys = { token: app.config.wechat.token, appId: app.config.wechat.appId, encodingAesKey: app.config.wechat.encodingAesKey };
    const web = await startApp({
      APP_ROLE: 'web',
      INTERNAL_API_SECRET: SECRET,
      INTERNAL_API_BASE_URL: app.url,
      WECHAT_TOKEN: keys.token,
      WECHAT_APPID: keys.appId,
      WECHAT_ENCODING_AES_KEY: keys.encodingAesKey,
      ADMIN_API_KEY: ADMIN_KEY,
    });
    try {
      const push = signedPush(keys, 'safe', eventXml('oMetricsWebUser0000000000001', 'subscribe'));
      expect(
        (await fetch(web.url + push.path(), { method: 'POST', headers: { 'content-type': 'text/xml' }, body: push.body })).status,
      ).toBe(200);
      const text = (await metrics(web, { 'x-admin-key': ADMIN_KEY })).text.replace(/role="web"/g, 'role="all"');
      expect(value(text, 'internal_api_call_duration_seconds_count{operation="callback/push",outcome="ok"}')).toBe(1);
      expect(value(text, 'wechat_push_total{event="subscribe",result="ok"}')).toBe(1);
    } finally {
      await web.close();
    }
  });
});
