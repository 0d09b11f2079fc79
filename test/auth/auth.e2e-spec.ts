import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { QrBindingService } from '../../src/binding/qr-binding.service';
import { Clock } from '../../src/common/clock';
import { verifySessionToken } from '../../src/common/session-token';
import { DatabaseService } from '../../src/database/database.service';
import { SandboxClock } from '../../src/sandbox/core/sandbox-clock';
import { BindingService } from '../../src/binding/binding.service';
import { expectInvariants } from '../setup/invariants';
import { AppOnFreshDb, dbKinds, eventually, freePort, startApp, startAppOnFreshDb, TEST_SESSION_SECRET, TestApp } from '../setup/test-app';

/** docs/api.md "Auth": web OAuth, the desktop's QR binding, check-follow, the admin menu — over real HTTP against the sandbox. */

const ADMIN_KEY = 'auth-e2e-admin-key-0123456789abcdef';
const BAD_CLIENT_ID = { detail: 'client_id格式错误' };
const RATE_LIMITED = { detail: '请求过于频繁，请稍后再试' };
const LEGACY_DT = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/;
const ISO_DT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/;
const QR_LIFETIME_S = 1800;

let seq = 0;
const uid = (prefix: string) => `${prefix}${Date.now().toString(36)}${(seq++).toString(36)}${randomBytes(3).toString('hex')}`;

interface Reply {
  status: number;
  body: any;
  headers: Headers;
}

async function call(
  base: string,
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, headers: res.headers };
}

/** A legacy "YYYY-MM-DD HH:mm:ss" value is Shanghai wall-clock time. */
const fromLegacy = (s: string) => new Date(`${s.replace(' ', 'T')}+08:00`).getTime();

/**
 * The 会员服务 links, built independently of the service from the app's config: the pages themselves
 * (each starts its own OAuth with a state it keeps, so a menu link carries no OAuth and no state).
 */
function expectedMemberButtons(t: TestApp) {
  const page = (file: string) => `${t.config.http.publicBaseUrl}/wechat/${file}`;
  return [
    { type: 'view', name: '开通会员', url: page('member.html') },
    { type: 'view', name: '购买额度', url: page('credits.html') },
    { type: 'view', name: '额度查询', url: page('credits_info.html') },
  ];
}

function expectedMenu(t: TestApp) {
  return {
    button: [
      { type: 'view', name: '芯图相册', url: t.config.http.homepageUrl },
      { name: '会员服务', sub_button: expectedMemberButtons(t) },
    ],
  };
}

describe.each(dbKinds())('auth [%s]', (kind) => {
  let app: AppOnFreshDb;
  let ds: DataSource;

  const q = (sql: string, params: unknown[] = []) => ds.query<Array<Record<string, unknown>>>(sql, params);
  const get = (path: string, headers?: Record<string, string>) => call(app.url, path, { headers });
  const post = (path: string, body?: unknown, headers?: Record<string, string>) => call(app.url, path, { method: 'POST', body, headers });
  const qr = (clientId: unknown, base = app.url) =>
    call(base, '/api/v1/auth/wechat/qrcode', { method: 'POST', body: { client_id: clientId } });
  const checkFollow = (clientId: string) => get(`/api/v1/auth/wechat/check-follow?client_id=${encodeURIComponent(clientId)}`);
  const clock = () => app.app.get<Clock, SandboxClock>(Clock);
  const stats = async (): Promise<Record<string, number>> => {
    const res = await get('/sandbox/stats');
    expect(res.status).toBe(200);
    return (res.body.stats ?? res.body) as Record<string, number>;
  };

  /** What the member page gets from WeChat: the sandbox OAuth redirects at once to `redirect_uri?code=&state=`. */
  async function oauthCode(openid: string, state = 'member'): Promise<string> {
    const { appId, oauthBase } = app.config.wechat;
    const redirect = `${app.config.http.publicBaseUrl}/wechat/member.html`;
    const res = await fetch(
      `${oauthBase}/connect/oauth2/authorize?appid=${appId}&redirect_uri=${encodeURIComponent(redirect)}&response_type=code&scope=snsapi_base` +
        `&state=${state}&sandbox_openid=${openid}`,
      { redirect: 'manual' },
    );
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(redirect);
    expect(location.searchParams.get('state')).toBe(state);
    return location.searchParams.get('code')!;
  }

  async function ledger(openid: string) {
    return q('SELECT reason, delta, ref FROM credit_ledger WHERE openid = ? ORDER BY id', [openid]);
  }

  beforeAll(async () => {
    // The menu tests send more wrong admin keys than the brute-force brake allows by default (10).
    app = await startAppOnFreshDb(kind, {
      WECHAT_SANDBOX: 'true',
      ADMIN_API_KEY: ADMIN_KEY,
      RATE_LIMIT_PER_MINUTE: '100000',
      ADMIN_AUTH_MAX_FAILURES: '1000',
    });
    ds = app.app.get(DatabaseService).dataSource;
  });

  afterAll(async () => {
    if (ds) await expectInvariants((sql) => q(sql));
    await app?.close();
  });

  describe('GET /api/v1/auth/wechat (OAuth code → session)', () => {
    it('exchanges the code, creates the user with the initial credits once, and signs a session token', async () => {
      const openid = uid('oAuth_');
      const res = await get(`/api/v1/auth/wechat?code=${await oauthCode(openid)}&state=member`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.body).toEqual({ success: true, openid, token: expect.any(String), expires_in: 7200 });

      const claims = verifySessionToken(TEST_SESSION_SECRET, res.body.token, clock().nowSeconds());
      expect(claims).toMatchObject({ sub: openid });
      expect(claims!.exp - claims!.iat).toBe(7200);
      expect(verifySessionToken('another-secret-0123456789abcdef0123456', res.body.token, clock().nowSeconds())).toBeNull();

      const [user] = await q(
        'SELECT total_credits, remaining_credits, used_credits, subscribed, last_active_time FROM wechat_users WHERE openid = ?',
        [openid],
      );
      expect(user).toMatchObject({ total_credits: 10, remaining_credits: 10, used_credits: 0 });
      expect(Number(user.subscribed)).toBe(0); // OAuth says nothing about following
      expect(user.last_active_time).not.toBeNull();
      expect(await ledger(openid)).toEqual([{ reason: 'signup_bonus', delta: 10, ref: openid }]);

      // A second login of the same openid grants nothing.
      const again = await get(`/api/v1/auth/wechat?code=${await oauthCode(openid, 'credits')}&state=credits`);
      expect(again.status).toBe(200);
      expect(again.body.openid).toBe(openid);
      const [after] = await q('SELECT total_credits, remaining_credits FROM wechat_users WHERE openid = ?', [openid]);
      expect(after).toMatchObject({ total_credits: 10, remaining_credits: 10 });
      expect(await ledger(openid)).toHaveLength(1);
      expect(await q('SELECT COUNT(*) AS n FROM wechat_users WHERE openid = ?', [openid])).toEqual([{ n: 1 }]);
    });

    it('a missing or empty code is 400 缺少code参数', async () => {
      for (const path of ['/api/v1/auth/wechat', '/api/v1/auth/wechat?state=member', '/api/v1/auth/wechat?code=&state=member']) {
        const res = await get(path);
        expect(res.status).toBe(400);
        expect(res.body).toEqual({ detail: '缺少code参数' });
      }
    });

    it("a reused code is 400 with WeChat's errmsg and changes nothing", async () => {
      const openid = uid('oReuse_');
      const code = await oauthCode(openid);
      expect((await get(`/api/v1/auth/wechat?code=${code}`)).status).toBe(200);
      const reused = await get(`/api/v1/auth/wechat?code=${code}`);
      expect(reused.status).toBe(400);
      expect(reused.body).toEqual({ detail: expect.stringMatching(/^code been used/) });

      const unknown = await get('/api/v1/auth/wechat?code=never-issued-code');
      expect(unknown.status).toBe(400);
      expect(unknown.body).toEqual({ detail: expect.stringMatching(/^invalid code/) });
      expect(await ledger(openid)).toHaveLength(1);
    });

    it('the menu links open the pages; a page’s login goes through authorize with its own state, which comes back with the code', async () => {
      const menu = expectedMemberButtons(app);
      for (const [i, name] of (['member', 'credits', 'credits_info'] as const).entries()) {
        expect(new URL(menu[i].url).pathname).toBe(`/wechat/${name}.html`);
        const openid = uid('oMenu_');
        const state = randomBytes(16).toString('hex');
        const start = await fetch(`${app.url}/api/v1/auth/wechat/authorize?page=${name}&state=${state}`, { redirect: 'manual' });
        expect(start.status).toBe(302);
        expect(start.headers.get('cache-control')).toBe('no-store');
        const authorize = new URL(start.headers.get('location')!);
        expect(authorize.href.startsWith(`${app.config.wechat.oauthBase}/connect/oauth2/authorize?`)).toBe(true);
        expect(Object.fromEntries(authorize.searchParams)).toEqual({
          appid: app.config.wechat.appId,
          redirect_uri: `${app.config.http.publicBaseUrl}/wechat/${name}.html`,
          response_type: 'code',
          scope: 'snsapi_base',
          state,
        });
        expect(authorize.hash).toBe('#wechat_redirect');
        authorize.hash = '';
        authorize.searchParams.set('sandbox_openid', openid);
        const res = await fetch(authorize, { redirect: 'manual' });
        expect(res.status).toBe(302);
        const landing = new URL(res.headers.get('location')!);
        expect(landing.pathname).toBe(`/wechat/${name}.html`);
        // The sandbox, like WeChat, hands the page's state back with the code.
        expect(landing.searchParams.get('state')).toBe(state);
        const login = await get(`/api/v1/auth/wechat?code=${landing.searchParams.get('code')}&state=${state}`);
        expect(login.status).toBe(200);
        expect(login.body.openid).toBe(openid);
      }
    });

    it('authorize refuses an unknown page or a guessable state with 400 and redirects nowhere', async () => {
      for (const query of [
        'page=member',
        'page=member&state=short',
        'page=member&state=' + 'x'.repeat(129),
        'page=admin&state=' + 'a'.repeat(32),
        `page=member&state=${'a'.repeat(31)}%26x%3D1`,
        'state=' + 'a'.repeat(32),
      ]) {
        const res = await fetch(`${app.url}/api/v1/auth/wechat/authorize?${query}`, { redirect: 'manual' });
        expect({ query, status: res.status, location: res.headers.get('location') }).toEqual({ query, status: 400, location: null });
        expect(((await res.json()) as { detail: string }).detail).toEqual(expect.any(String));
      }
    });
  });

  describe('POST /api/v1/auth/wechat/qrcode', () => {
    it('creates a QR_STR_SCENE code, records the scene and answers the contract shape', async () => {
      const clientId = uid('desk-');
      const before = await stats();
      const res = await qr(`  ${clientId}  `); // trimmed
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const body = res.body;
      expect(body).toEqual({
        success: true,
        qrcode_url: `${app.config.wechat.mpBase}/cgi-bin/showqrcode?ticket=${encodeURIComponent(body.ticket)}`,
        qrcode_content: expect.stringMatching(/^https?:\/\/weixin\.qq\.com\/q\//),
        ticket: expect.any(String),
        client_id: clientId,
        scene_id: expect.any(Number),
        scene_str: expect.stringMatching(/^bind_[A-Za-z0-9_-]{20}$/),
        expire_seconds: QR_LIFETIME_S,
        expire_at: expect.stringMatching(ISO_DT),
      });
      const expireAt = new Date(body.expire_at).getTime();
      expect(Math.abs(expireAt - (clock().nowMs() + QR_LIFETIME_S * 1000))).toBeLessThan(5000);
      expect((await stats()).qrcodes_created).toBe(before.qrcodes_created + 1);

      const [binding] = await q('SELECT id, status, openid, scene_id, legacy_scene FROM wechat_qrcode_bindings WHERE client_id = ?', [
        clientId,
      ]);
      expect(Number(binding.id)).toBe(body.scene_id);
      expect(binding).toMatchObject({ status: 'pending', openid: null });
      expect(Number(binding.scene_id)).toBe(0);
      expect(Number(binding.legacy_scene)).toBe(0);
      const scenes = await q('SELECT scene_str, ticket, qrcode_content FROM wechat_qr_scenes WHERE client_id = ?', [clientId]);
      expect(scenes).toEqual([{ scene_str: body.scene_str, ticket: body.ticket, qrcode_content: body.qrcode_content }]);

      // The image URL works at the mp host (the sandbox's showqrcode).
      expect((await fetch(body.qrcode_url)).status).toBe(200);
    });

    it('hands out the same code while more than half its lifetime is left, then a new one; the old one stays valid', async () => {
      const clientId = uid('desk-');
      const first = (await qr(clientId)).body;
      const again = await qr(clientId);
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({
        ticket: first.ticket,
        scene_str: first.scene_str,
        scene_id: first.scene_id,
        expire_at: first.expire_at,
      });

      clock().shift(890_000); // 910 s left of 1800: still more than half
      const reused = (await qr(clientId)).body;
      expect(reused).toMatchObject({ ticket: first.ticket, scene_str: first.scene_str, expire_at: first.expire_at });
      expect(reused.expire_seconds).toBeGreaterThan(900);
      expect(reused.expire_seconds).toBeLessThanOrEqual(911);

      clock().shift(20_000); // 890 s left: less than half → a new code
      const renewed = (await qr(clientId)).body;
      expect(renewed.ticket).not.toBe(first.ticket);
      expect(renewed.scene_str).not.toBe(first.scene_str);
      expect(renewed.scene_id).toBe(first.scene_id); // one binding row per client
      expect(renewed.expire_seconds).toBe(QR_LIFETIME_S);
      expect(new Date(renewed.expire_at).getTime()).toBeGreaterThan(new Date(first.expire_at).getTime());
      expect((await qr(clientId)).body.ticket).toBe(renewed.ticket);
      expect(await q('SELECT COUNT(*) AS n FROM wechat_qr_scenes WHERE client_id = ?', [clientId])).toEqual([{ n: 2 }]);

      // The older code still binds until its own expiry.
      const openid = uid('oOld_');
      expect(await app.app.get(BindingService).updateBinding(first.scene_str, openid, 'scan')).toEqual({ bound: true });
      const [binding] = await q('SELECT openid, status FROM wechat_qrcode_bindings WHERE client_id = ?', [clientId]);
      expect(binding).toEqual({ openid, status: 'completed' });
    });

    it('20 concurrent requests for one client get one ticket (10 answered, the rest rate limited)', async () => {
      const clientId = uid('desk-');
      const before = await stats();
      const replies = await Promise.all(Array.from({ length: 20 }, () => qr(clientId)));
      const ok = replies.filter((r) => r.status === 200);
      const limited = replies.filter((r) => r.status === 429);
      expect(ok).toHaveLength(10);
      expect(limited).toHaveLength(10);
      for (const r of limited) expect(r.body).toEqual(RATE_LIMITED);
      expect(new Set(ok.map((r) => r.body.ticket)).size).toBe(1);
      expect(new Set(ok.map((r) => r.body.scene_id)).size).toBe(1);
      expect((await stats()).qrcodes_created).toBe(before.qrcodes_created + 1);
      expect(await q('SELECT COUNT(*) AS n FROM wechat_qr_scenes WHERE client_id = ?', [clientId])).toEqual([{ n: 1 }]);
      expect(await q('SELECT COUNT(*) AS n FROM wechat_qrcode_bindings WHERE client_id = ?', [clientId])).toEqual([{ n: 1 }]);
    });

    it('racing creators without in-process sharing (as separate processes race) still agree on one recorded ticket', async () => {
      const clientId = uid('desk-');
      const service = app.app.get(QrBindingService);
      const views = await Promise.all(Array.from({ length: 20 }, () => service.issue(clientId)));
      expect(new Set(views.map((v) => v.ticket)).size).toBe(1);
      expect(new Set(views.map((v) => v.scene_id)).size).toBe(1);
      const scenes = await q('SELECT ticket FROM wechat_qr_scenes WHERE client_id = ?', [clientId]);
      expect(scenes).toEqual([{ ticket: views[0].ticket }]);
      expect((await qr(clientId)).body.ticket).toBe(views[0].ticket);
    });

    it('rejects malformed client_ids with 400 client_id格式错误 and records nothing', async () => {
      const bad: unknown[] = [
        'a'.repeat(129),
        'desk top',
        "x' OR '1'='1",
        "'; DROP TABLE wechat_users; --",
        '<script>alert(1)</script>',
        'desk/../etc',
        'ключ',
        '',
        '   ',
        12345,
        null,
        ['a', 'b'],
        { $ne: 1 },
      ];
      for (const clientId of bad) {
        const res = await qr(clientId);
        expect(res.status).toBe(400);
        expect(res.body).toEqual(BAD_CLIENT_ID);
      }
      const missing = await post('/api/v1/auth/wechat/qrcode', {});
      expect(missing.status).toBe(400);
      expect(missing.body).toEqual(BAD_CLIENT_ID);
      const noBody = await call(app.url, '/api/v1/auth/wechat/qrcode', { method: 'POST' });
      expect(noBody.status).toBe(400);
      expect(noBody.body).toEqual(BAD_CLIENT_ID);
      expect(
        await q(
          "SELECT COUNT(*) AS n FROM wechat_qrcode_bindings WHERE client_id LIKE '%script%' OR client_id LIKE '%DROP%' OR client_id = ''",
        ),
      ).toEqual([{ n: 0 }]);
      // 128 characters is still fine.
      expect((await qr('A'.repeat(120) + uid('').slice(-8))).status).toBe(200);
    });

    it('the 11th request for one client within a minute is 429; other clients are unaffected', async () => {
      const clientId = uid('desk-');
      for (let i = 0; i < 10; i++) expect((await qr(clientId)).status).toBe(200);
      const eleventh = await qr(clientId);
      expect(eleventh.status).toBe(429);
      expect(eleventh.body).toEqual(RATE_LIMITED);
      expect((await qr(uid('desk-'))).status).toBe(200);
    });

    it('WeChat failing the creation leaves no binding and no scene behind; after recovery both are written once', async () => {
      const clientId = uid('desk-refused-');
      await post('/sandbox/faults', { api: 'down' });
      try {
        for (let i = 0; i < 3; i++) {
          const refused = await qr(clientId);
          expect({ status: refused.status, body: refused.body }).toEqual({ status: 502, body: { detail: '生成二维码失败' } });
        }
      } finally {
        await post('/sandbox/faults', { api: null });
      }
      expect(await q('SELECT COUNT(*) AS n FROM wechat_qrcode_bindings WHERE client_id = ?', [clientId])).toEqual([{ n: 0 }]);
      expect(await q('SELECT COUNT(*) AS n FROM wechat_qr_scenes WHERE client_id = ?', [clientId])).toEqual([{ n: 0 }]);
      expect((await checkFollow(clientId)).body).toEqual({ success: true, subscribed: false, qr_expire_at: null });
      const ok = await qr(clientId);
      expect(ok.status).toBe(200);
      const [binding] = await q('SELECT id FROM wechat_qrcode_bindings WHERE client_id = ?', [clientId]);
      expect(ok.body.scene_id).toBe(Number(binding.id));
      expect(await q('SELECT COUNT(*) AS n FROM wechat_qr_scenes WHERE client_id = ?', [clientId])).toEqual([{ n: 1 }]);
    });

    it('creating a code purges scenes more than a day past their expiry (and keeps the others)', async () => {
      clock().shift(61_000); // past the once-a-minute purge spacing
      const now = clock().nowMs();
      const sqlTime = (ms: number) => (kind === 'mysql' ? new Date(ms) : new Date(ms).toISOString().replace('T', ' ').replace('Z', ''));
      const insert = (scene: string, expiredAgoMs: number) =>
        q('INSERT INTO wechat_qr_scenes (scene_str, client_id, ticket, qrcode_content, expire_at, created_at) VALUES (?, ?, ?, ?, ?, ?)', [
          scene,
          'desk-purge',
          uid('ticket-'),
          'http://weixin.qq.com/q/old',
          sqlTime(now - expiredAgoMs),
          sqlTime(now - expiredAgoMs - 1800_000),
        ]);
      const stale = uid('bind_stale');
      const recent = uid('bind_recent');
      await insert(stale, 25 * 3600_000);
      await insert(recent, 23 * 3600_000);
      expect((await qr(uid('desk-'))).status).toBe(200);
      const left = (await q("SELECT scene_str FROM wechat_qr_scenes WHERE client_id = 'desk-purge'")).map((r) => r.scene_str);
      expect(left).toEqual([recent]);
    });
  });

  describe('GET /api/v1/auth/wechat/check-follow', () => {
    it('rejects a missing or malformed client_id', async () => {
      for (const path of [
        '',
        '?client_id=',
        '?client_id=a%20b',
        `?client_id=${'x'.repeat(129)}`,
        '?client_id=%3Cscript%3E',
        '?client_id=a&client_id=b',
      ]) {
        const res = await get(`/api/v1/auth/wechat/check-follow${path}`);
        expect(res.status).toBe(400);
        expect(res.body).toEqual(BAD_CLIENT_ID);
      }
    });

    it('a client that never asked for a code: not subscribed, no expiry', async () => {
      const res = await checkFollow(uid('desk-'));
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.body).toEqual({ success: true, subscribed: false, qr_expire_at: null });
    });

    it('false before the scan, true after scanning the code in WeChat, false again after unfollowing', async () => {
      const clientId = uid('desk-');
      const code = (await qr(clientId)).body;
      expect((await checkFollow(clientId)).body).toEqual({ success: true, subscribed: false, qr_expire_at: code.expire_at });

      const openid = uid('oScan_');
      const scan = await post('/sandbox/actions/scan', { ticket: code.ticket, openid, subscribed: false });
      expect(scan.status).toBeLessThan(300);
      let follow: Reply | undefined;
      await eventually(async () => {
        follow = await checkFollow(`  ${clientId} `);
        return follow.body.subscribed === true;
      }, 10_000);
      expect(follow!.body).toEqual({
        success: true,
        subscribed: true,
        completed_at: expect.stringMatching(LEGACY_DT),
        qr_expire_at: code.expire_at,
      });
      expect(Math.abs(fromLegacy(follow!.body.completed_at) - clock().nowMs())).toBeLessThan(10_000);
      const [binding] = await q('SELECT openid, status FROM wechat_qrcode_bindings WHERE client_id = ?', [clientId]);
      expect(binding).toEqual({ openid, status: 'completed' });
      // Subscribing through the code made a user with the initial credits.
      expect(await ledger(openid)).toEqual([{ reason: 'signup_bonus', delta: 10, ref: openid }]);

      expect((await post('/sandbox/actions/unsubscribe', { openid })).status).toBeLessThan(300);
      await eventually(async () => (await checkFollow(clientId)).body.subscribed === false, 10_000);
      expect((await checkFollow(clientId)).body).toEqual({ success: true, subscribed: false, qr_expire_at: code.expire_at });
    });

    it('qr_expire_at follows the newest code', async () => {
      const clientId = uid('desk-');
      const first = (await qr(clientId)).body;
      clock().shift(1000_000); // less than half left: next request makes a new code
      const second = (await qr(clientId)).body;
      expect(second.ticket).not.toBe(first.ticket);
      expect((await checkFollow(clientId)).body.qr_expire_at).toBe(second.expire_at);
    });
  });

  describe('menu (admin)', () => {
    const key = { 'X-Admin-Key': ADMIN_KEY };

    it('a missing or wrong X-Admin-Key is 401 管理密钥错误', async () => {
      for (const headers of [
        {} as Record<string, string>,
        { 'X-Admin-Key': '' },
        { 'X-Admin-Key': 'wrong' },
        { 'X-Admin-Key': ADMIN_KEY.slice(0, -1) },
        { 'X-Admin-Key': `${ADMIN_KEY}x` },
        { 'X-Admin-Key': ADMIN_KEY.replace(/.$/, 'X') },
      ]) {
        for (const res of [
          await get('/api/v1/auth/wechat/get-menu', headers),
          await post('/api/v1/auth/wechat/create-menu', {}, headers),
        ]) {
          expect(res.status).toBe(401);
          expect(res.body).toEqual({ detail: '管理密钥错误' });
        }
      }
      expect((await stats()).menu_creates ?? 0).toBe(0);
    });

    it('create-menu publishes the menu built from config, and get-menu reads it back from WeChat', async () => {
      const empty = await get('/api/v1/auth/wechat/get-menu', key);
      expect(empty.status).toBe(200);
      expect(empty.body).toEqual({ success: true, menu: null, conditionalmenu: null });

      const res = await post('/api/v1/auth/wechat/create-menu', undefined, key);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.body).toEqual({
        success: true,
        message: '菜单创建成功',
        menu_structure: expectedMenu(app),
        wechat_response: { errcode: 0, errmsg: 'ok' },
      });

      const read = await get('/api/v1/auth/wechat/get-menu', key);
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({ success: true, menu: expectedMenu(app) });
      expect(read.body).toHaveProperty('conditionalmenu');
    });

    it('a {"menu": …} body overrides the built menu; an invalid one is refused', async () => {
      const menu = { button: [{ type: 'view', name: '官网', url: 'https://www.example.com/' }] };
      const res = await post('/api/v1/auth/wechat/create-menu', { menu }, key);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ success: true, message: '菜单创建成功', menu_structure: menu });
      expect((await get('/api/v1/auth/wechat/get-menu', key)).body).toMatchObject({ success: true, menu });

      const shapeless = await post('/api/v1/auth/wechat/create-menu', { menu: { buttons: [] } }, key);
      expect(shapeless.status).toBe(400);
      const refused = await post('/api/v1/auth/wechat/create-menu', { menu: { button: [] } }, key);
      expect(refused.status).toBe(502);
      expect(refused.body).toEqual({ detail: expect.stringMatching(/^创建菜单失败: 40016 /) });
      // The published menu is untouched by refused attempts.
      expect((await get('/api/v1/auth/wechat/get-menu', key)).body).toMatchObject({ menu });
    });
  });

  it('every auth endpoint is in the OpenAPI document', async () => {
    const doc = (await get('/docs/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths['/api/v1/auth/wechat'])).toContain('get');
    expect(Object.keys(doc.paths['/api/v1/auth/wechat/qrcode'])).toContain('post');
    expect(Object.keys(doc.paths['/api/v1/auth/wechat/check-follow'])).toContain('get');
    expect(Object.keys(doc.paths['/api/v1/auth/wechat/get-menu'])).toContain('get');
    expect(Object.keys(doc.paths['/api/v1/auth/wechat/create-menu'])).toContain('post');
  });

  describe('QR creation per IP (RATE_LIMIT_PER_MINUTE=5, docs/limits.md)', () => {
    let limited: TestApp;

    beforeAll(async () => {
      limited = await startAppOnFreshDb(kind, { WECHAT_SANDBOX: 'true', RATE_LIMIT_PER_MINUTE: '5' });
    });

    afterAll(async () => {
      await limited?.close();
    });

    it('a 6th new client_id from one IP within a minute is 429 and writes no binding', async () => {
      for (let i = 0; i < 5; i++) expect((await qr(uid('desk-ip-'), limited.url)).status).toBe(200);
      const clientId = uid('desk-ip-');
      const sixth = await qr(clientId, limited.url);
      expect({ status: sixth.status, body: sixth.body }).toEqual({ status: 429, body: RATE_LIMITED });
      const rows = await limited.app
        .get(DatabaseService)
        .dataSource.query('SELECT COUNT(*) AS n FROM wechat_qrcode_bindings WHERE client_id = ?', [clientId]);
      expect(rows).toEqual([{ n: 0 }]);
    });
  });

  describe('WeChat unreachable, no admin key configured', () => {
    let offline: TestApp;

    beforeAll(async () => {
      const closed = await freePort(); // nothing listens there
      offline = await startAppOnFreshDb(kind, { WECHAT_SANDBOX: 'true', WECHAT_API_BASE: `http://127.0.0.1:${closed}` });
    });

    afterAll(async () => {
      await offline?.close();
    });

    it('OAuth answers 502 授权失败', async () => {
      const res = await call(offline.url, '/api/v1/auth/wechat?code=some-code&state=member');
      expect(res.status).toBe(502);
      expect(res.body).toEqual({ detail: '授权失败' });
    });

    it('QR creation answers 502 生成二维码失败 and records no scene', async () => {
      const clientId = uid('desk-');
      const res = await qr(clientId, offline.url);
      expect(res.status).toBe(502);
      expect(res.body).toEqual({ detail: '生成二维码失败' });
      const scenes = await offline.app.get(DatabaseService).dataSource.query('SELECT COUNT(*) AS n FROM wechat_qr_scenes');
      expect(scenes).toEqual([{ n: 0 }]);
      const bindings = await offline.app.get(DatabaseService).dataSource.query('SELECT COUNT(*) AS n FROM wechat_qrcode_bindings');
      expect(bindings).toEqual([{ n: 0 }]);
    });

    it('admin endpoints are 403 管理接口未启用 whatever key is sent', async () => {
      for (const headers of [{} as Record<string, string>, { 'X-Admin-Key': ADMIN_KEY }, { 'X-Admin-Key': '' }]) {
        for (const res of [
          await call(offline.url, '/api/v1/auth/wechat/get-menu', { headers }),
          await call(offline.url, '/api/v1/auth/wechat/create-menu', { method: 'POST', body: {}, headers }),
        ]) {
          expect(res.status).toBe(403);
          expect(res.body).toEqual({ detail: '管理接口未启用' });
        }
      }
    });
  });

  if (kind === 'mysql') {
    describe('two processes on one database', () => {
      let second: TestApp;

      beforeAll(async () => {
        // The second process uses the first one's sandbox, as a multi-process deployment shares WeChat.
        const sandbox = `${app.url}/sandbox`;
        second = await startApp({
          ...app.db.env,
          WECHAT_SANDBOX: 'true',
          WECHAT_API_BASE: `${sandbox}/api`,
          WECHAT_OAUTH_BASE: `${sandbox}/open`,
          WECHAT_MP_BASE: `${sandbox}/mp`,
          RATE_LIMIT_PER_MINUTE: '100000',
        });
        // Both processes must agree on the time (the first one's clock was moved by earlier tests).
        const secondClock = second.app.get<Clock, SandboxClock>(Clock);
        secondClock.shift(clock().nowMs() - secondClock.nowMs());
      });

      afterAll(async () => {
        await second?.close();
      });

      it('concurrent requests for one client across both processes get one ticket', async () => {
        const clientId = uid('desk-');
        // 10 per process: each process's per-client limit is 10/min.
        const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => qr(clientId, i % 2 ? second.url : app.url)));
        expect(replies.map((r) => r.status)).toEqual(Array(20).fill(200));
        expect(new Set(replies.map((r) => r.body.ticket)).size).toBe(1);
        expect(new Set(replies.map((r) => r.body.scene_id)).size).toBe(1);
        expect(await q('SELECT COUNT(*) AS n FROM wechat_qr_scenes WHERE client_id = ?', [clientId])).toEqual([{ n: 1 }]);
      });
    });
  }
});
