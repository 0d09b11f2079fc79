import { DatabaseService } from '../src/database/database.service';
import { internalSignature } from '../src/internal/internal-signature';
import { startApp, TestApp, TestDatabase } from './setup/test-app';

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
  let db: TestDatabase;
  let app: TestApp;

  beforeAll(async () => {
    db = await TestDatabase.create('sqlite');
    app = await startApp({ ...db.env, WECHAT_SANDBOX: 'true', ADMIN_API_KEY: ADMIN_KEY, INTERNAL_API_SECRET: SECRET });
    await app.app.get(DatabaseService).whenReady();
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('refuses readers without the admin key or the internal signature', async () => {
    expect((await metrics(app, {})).status).toBe(401);
    expect((await metrics(app, { 'x-admin-key': 'wrong-key-wrong-key-wrong' })).status).toBe(401);
    const ts = String(Math.floor(Date.now() / 1000));
    expect((await metrics(app, { 'x-internal-timestamp': ts, 'x-internal-signature': 'f'.repeat(64) })).status).toBe(401);
  });

  it('counts pushes, token fetches and request durations after a QR binding through the sandbox', async () => {
    const qr = (await (
      await fetch(`${app.url}/api/v1/auth/wechat/qrcode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: 'PC_metrics_0001' }) })
    ).json()) as { ticket: string };
    await fetch(`${app.url}/sandbox/actions/scan`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ticket: qr.ticket, openid: 'oMetricsUser000000000000001' }) });

    const ts = String(Math.floor(Date.now() / 1000));
    const signed = await metrics(app, { 'x-internal-timestamp': ts, 'x-internal-signature': internalSignature(SECRET, 'GET', '/api/v1/internal/metrics', ts, '') });
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
});
