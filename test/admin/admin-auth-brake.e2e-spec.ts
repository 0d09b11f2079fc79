import { internalSignature } from '../../src/common/internal-signature';
import { startApp, startAppOnFreshDb, TestApp } from '../setup/test-app';

/**
 * The brute-force brake of the admin endpoints and the metrics route (docs/limits.md "Admin and
 * metrics"): wrong secrets are counted per client IP; past ADMIN_AUTH_MAX_FAILURES in the window the
 * IP gets 429 for the window, the right key included; right keys are never counted.
 */
const ADMIN_KEY = 'brake-admin-key-0123456789abcdef0123';
const SECRET = 'brake-internal-secret-0123456789abcdef';

interface Answer {
  status: number;
  cacheControl: string | null;
  retryAfter: string | null;
  body: string;
}

/** From the loopback proxy the app trusts (TRUST_PROXY=loopback): X-Forwarded-For is the client's IP. */
async function get(app: TestApp, path: string, headers: Record<string, string> = {}, ip = '203.0.113.7'): Promise<Answer> {
  const res = await fetch(app.url + path, { headers: { 'x-forwarded-for': ip, ...headers } });
  return {
    status: res.status,
    cacheControl: res.headers.get('cache-control'),
    retryAfter: res.headers.get('retry-after'),
    body: await res.text(),
  };
}

const ADMIN_PATH = '/api/v1/admin/anomalies';
const METRICS_PATH = '/api/v1/internal/metrics';

describe('admin and metrics brute-force brake [sqlite]', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startAppOnFreshDb('sqlite', { WECHAT_SANDBOX: 'true', ADMIN_API_KEY: ADMIN_KEY, INTERNAL_API_SECRET: SECRET });
  });

  afterAll(async () => {
    await app?.close();
  });

  it('300 wrong admin keys from one IP: 401 for the first 10, then 429 (Retry-After); the right key is refused too until the window passes', async () => {
    const statuses: number[] = [];
    let last: Answer | undefined;
    for (let i = 0; i < 300; i++) {
      last = await get(app, ADMIN_PATH, { 'x-admin-key': `guess-${i}` }, '203.0.113.10');
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10)).toEqual(Array(290).fill(429));
    expect(JSON.parse(last!.body)).toEqual({ detail: '请求过于频繁，请稍后再试' });
    expect(Number(last!.retryAfter)).toBeGreaterThan(800);
    expect(Number(last!.retryAfter)).toBeLessThanOrEqual(900);

    // The key itself during the block: still 429 (a lucky guess learns nothing).
    expect((await get(app, ADMIN_PATH, { 'x-admin-key': ADMIN_KEY }, '203.0.113.10')).status).toBe(429);
    // The metrics route shares the brake: the same IP is refused there too.
    expect((await get(app, METRICS_PATH, { 'x-admin-key': ADMIN_KEY }, '203.0.113.10')).status).toBe(429);
    // Per IP: another operator is not locked out.
    expect((await get(app, ADMIN_PATH, { 'x-admin-key': ADMIN_KEY }, '203.0.113.11')).status).toBe(200);
  });

  it('only failures count: many right keys, then 10 wrong ones are still 401 and the key still works', async () => {
    const ip = '203.0.113.20';
    for (let i = 0; i < 30; i++) expect((await get(app, ADMIN_PATH, { 'x-admin-key': ADMIN_KEY }, ip)).status).toBe(200);
    for (let i = 0; i < 10; i++) expect((await get(app, ADMIN_PATH, { 'x-admin-key': 'wrong' }, ip)).status).toBe(401);
    expect((await get(app, ADMIN_PATH, { 'x-admin-key': ADMIN_KEY }, ip)).status).toBe(200);
    expect((await get(app, ADMIN_PATH, { 'x-admin-key': 'wrong' }, ip)).status).toBe(429);
  });

  it('wrong metrics credentials (admin key or internal signature) count and block like admin keys; a signed scrape passes', async () => {
    const ip = '203.0.113.30';
    const ts = String(Math.floor(Date.now() / 1000));
    const signed = {
      'x-internal-timestamp': ts,
      'x-internal-signature': internalSignature(SECRET, 'GET', METRICS_PATH, ts, Buffer.alloc(0)),
    };
    expect((await get(app, METRICS_PATH, signed, ip)).status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await get(app, METRICS_PATH, { 'x-admin-key': `guess-${i}` }, ip)).status);
    for (let i = 0; i < 6; i++)
      statuses.push((await get(app, METRICS_PATH, { ...signed, 'x-internal-signature': '0'.repeat(64) }, ip)).status);
    expect(statuses).toEqual([...Array(10).fill(401), 429, 429]);
    expect((await get(app, METRICS_PATH, signed, ip)).status).toBe(429);
  });

  it('every admin answer is Cache-Control: no-store (200, 400, 401, 403, 429, the menu)', async () => {
    const ip = '203.0.113.40';
    const ok = await get(app, ADMIN_PATH, { 'x-admin-key': ADMIN_KEY }, ip);
    expect(ok.status).toBe(200);
    expect(ok.cacheControl).toBe('no-store');
    const bad = await get(app, `${ADMIN_PATH}?since=yesterday`, { 'x-admin-key': ADMIN_KEY }, ip);
    expect(bad.status).toBe(400);
    expect(bad.cacheControl).toBe('no-store');
    const users = await get(app, '/api/v1/admin/users?openid=oNobody', { 'x-admin-key': ADMIN_KEY }, ip);
    expect(users.cacheControl).toBe('no-store');
    const menu = await get(app, '/api/v1/auth/wechat/get-menu', { 'x-admin-key': ADMIN_KEY }, ip);
    expect(menu.status).toBe(200);
    expect(menu.cacheControl).toBe('no-store');
    const wrong = await get(app, ADMIN_PATH, { 'x-admin-key': 'wrong' }, ip);
    expect(wrong.status).toBe(401);
    expect(wrong.cacheControl).toBe('no-store');
  });
});

describe('admin brake settings [sqlite]', () => {
  let off: TestApp;

  beforeAll(async () => {
    off = await startAppOnFreshDb('sqlite', { WECHAT_SANDBOX: 'true', ADMIN_AUTH_MAX_FAILURES: '3', ADMIN_AUTH_WINDOW_SECONDS: '2' });
  });

  afterAll(async () => {
    await off?.close();
  });

  it('admin off (no key) is 403 with no-store, and counts nothing', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await get(off, ADMIN_PATH, { 'x-admin-key': 'x' });
      expect(r.status).toBe(403);
      expect(r.cacheControl).toBe('no-store');
    }
  });

  it('ADMIN_AUTH_MAX_FAILURES / ADMIN_AUTH_WINDOW_SECONDS: 3 failures then 429, lifted once the window has passed', async () => {
    const ip = '198.51.100.9';
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await get(off, METRICS_PATH, { 'x-admin-key': 'x' }, ip)).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    await new Promise((r) => setTimeout(r, 2300));
    expect((await get(off, METRICS_PATH, { 'x-admin-key': 'x' }, ip)).status).toBe(401);
  });
});

describe('role web: the metrics route has the brake too', () => {
  let web: TestApp;

  beforeAll(async () => {
    web = await startApp({
      APP_ROLE: 'web',
      INTERNAL_API_SECRET: SECRET,
      INTERNAL_API_BASE_URL: 'http://127.0.0.1:9',
      ADMIN_AUTH_MAX_FAILURES: '2',
    });
  });

  afterAll(async () => {
    await web?.close();
  });

  it('2 failures, then 429', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await get(web, METRICS_PATH, { 'x-admin-key': 'x' })).status);
    expect(statuses).toEqual([401, 401, 429, 429]);
  });
});
