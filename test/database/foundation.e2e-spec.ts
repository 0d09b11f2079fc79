import { DatabaseService } from '../../src/database/database.service';
import { MIGRATIONS } from '../../src/database/migrations';
import { mysqlAdmin } from '../setup/mysql';
import { AppOnFreshDb, dbKinds, startApp, startAppOnFreshDb } from '../setup/test-app';

const NEW_TABLES = [
  'credit_ledger',
  'wechat_qr_scenes',
  'wechat_access_tokens',
  'wechat_callback_nonces',
  'payment_anomalies',
  'payment_refunds',
  'reconciliation_runs',
];
const LEGACY_TABLES = ['wechat_users', 'credits_usage', 'wechat_qrcode_bindings', 'payment_orders', 'payment_records'];

describe.each(dbKinds())('foundation [%s]', (kind) => {
  let app: AppOnFreshDb;

  beforeAll(async () => {
    app = await startAppOnFreshDb(kind);
  });

  afterAll(async () => {
    await app?.close();
  });

  it('boots and reports healthy with the database connected', async () => {
    const res = await fetch(`${app.url}/api/v1/health`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 'healthy', database: 'connected', role: 'all', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(body.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/);
  });

  it('GET / describes the service as JSON', async () => {
    const res = await fetch(`${app.url}/`);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(await res.json()).toEqual({
      service: 'image-classifier-wechat',
      version: expect.any(String),
      docs: '/docs',
      health: '/api/v1/health',
    });
  });

  it('an unknown /api path is a JSON 404, never a page', async () => {
    for (const path of ['/api/typo', '/api/v1/user/nothing-here', '/api/v1/health/extra']) {
      const res = await fetch(app.url + path);
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      expect(await res.json()).toEqual({ detail: 'Not Found' });
    }
  });

  it('a known path under the wrong method is 405', async () => {
    const res = await fetch(`${app.url}/api/v1/health`, { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(await res.json()).toEqual({ detail: 'Method Not Allowed' });
  });

  it('a body over 64 KiB is 413 with the Chinese detail; malformed JSON is 400', async () => {
    const big = await fetch(`${app.url}/api/v1/anything`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ x: 'a'.repeat(70 * 1024) }),
    });
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({ detail: '请求体过大' });
    const bad = await fetch(`${app.url}/api/v1/anything`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":',
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { detail: string }).detail).toMatch(/JSON/);
  });

  it('/docs serves the OpenAPI UI and document', async () => {
    const ui = await fetch(`${app.url}/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toMatch(/swagger/i);
    const doc = (await (await fetch(`${app.url}/docs/openapi.json`)).json()) as { paths: Record<string, object> };
    expect(Object.keys(doc.paths)).toContain('/api/v1/health');
    // The callback lane's URLs are not Nest routes; the document lists them all the same.
    expect(Object.keys(doc.paths['/api/v1/auth/wechat/verify'])).toEqual(['get', 'post']);
    expect(Object.keys(doc.paths['/api/v1/payment/notify'])).toEqual(['post']);
    expect(Object.keys(doc.paths['/api/v1/payment/refund-notify'])).toEqual(['post']);
  });

  it('migrations built every table on the empty database and recorded themselves once', async () => {
    const ds = app.app.get(DatabaseService).dataSource;
    const tables: string[] =
      kind === 'mysql'
        ? (await ds.query('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE()')).map(
            (r: { t: string }) => r.t,
          )
        : (await ds.query("SELECT name AS t FROM sqlite_master WHERE type = 'table'")).map((r: { t: string }) => r.t);
    for (const t of [...LEGACY_TABLES, ...NEW_TABLES, 'typeorm_migrations']) expect(tables).toContain(t);
    const applied = await ds.query('SELECT name FROM typeorm_migrations');
    expect(applied.map((r: { name: string }) => r.name)).toEqual(MIGRATIONS.map((m) => m.name));
    expect(await ds.showMigrations()).toBe(false); // nothing pending
  });

  it('a restart on the migrated database applies nothing and keeps serving', async () => {
    const second = await startApp({ ...app.db.env });
    try {
      const applied = await second.app.get(DatabaseService).dataSource.query('SELECT COUNT(*) AS n FROM typeorm_migrations');
      expect(Number(applied[0].n)).toBe(MIGRATIONS.length);
      expect((await fetch(`${second.url}/api/v1/health`)).status).toBe(200);
    } finally {
      await second.close();
    }
  });

  if (kind === 'mysql') {
    it('new tables and columns are utf8mb4_unicode_ci (joins with legacy columns never hit error 1267), the task key columns binary', async () => {
      const c = await mysqlAdmin(app.db.mysqlName);
      try {
        const [rows] = await c.query(
          "SELECT table_name AS t, column_name AS c, collation_name AS k FROM information_schema.columns WHERE table_schema = DATABASE() AND collation_name IS NOT NULL AND table_name <> 'typeorm_migrations'",
        );
        // The ledger's task key compares byte for byte (docs/limits.md "Orders and credits"); it is never joined.
        const binary = new Set(['credit_ledger.task_type', 'credit_ledger.task_id']);
        const all = rows as Array<{ t: string; c: string; k: string }>;
        expect(all.filter((r) => r.k !== (binary.has(`${r.t}.${r.c}`) ? 'utf8mb4_bin' : 'utf8mb4_unicode_ci'))).toEqual([]);
        expect(all.filter((r) => binary.has(`${r.t}.${r.c}`))).toHaveLength(2);
      } finally {
        await c.end();
      }
    });
  }
});
