import { randomBytes } from 'node:crypto';
import { signSessionToken } from '../../src/common/session-token';
import { DatabaseService } from '../../src/database/database.service';
import { BindingService } from '../../src/binding/binding.service';
import { CreditsService } from '../../src/user/credits.service';
import { CreditsUsage } from '../../src/user/entities/credits-usage.entity';
import { QrScene } from '../../src/binding/entities/qr-scene.entity';
import { WechatUser } from '../../src/user/entities/wechat-user.entity';
import { UserService } from '../../src/user/user.service';
import { expectInvariants } from '../setup/invariants';
import { dbKinds, startAppOnFreshDb, TEST_SESSION_SECRET, TestApp } from '../setup/test-app';

const EXPIRED = { detail: '登录已过期，请从公众号菜单重新进入' };
const NO_CALLER = { detail: '请先关注公众号并扫码' };
const BAD_CLIENT_ID = { detail: 'client_id格式错误' };
const NOT_FOLLOWED = { detail: '用户未关注公众号' };
const NO_USER = { detail: '用户不存在' };

const LEGACY_DT = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/;
const ISO_DT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/;

interface Reply {
  status: number;
  body: any;
  headers: Headers;
}

const uid = (prefix: string) => `${prefix}${randomBytes(6).toString('hex')}`;
const nowSeconds = () => Math.floor(Date.now() / 1000);
const tokenFor = (openid: string, opts: { iat?: number; ttl?: number; secret?: string } = {}) =>
  signSessionToken(opts.secret ?? TEST_SESSION_SECRET, openid, opts.iat ?? nowSeconds(), opts.ttl ?? 7200);
const bearer = (openid: string) => ({ authorization: `Bearer ${tokenFor(openid)}` });

/** A legacy "YYYY-MM-DD HH:mm:ss" value is Shanghai wall-clock time. */
const fromLegacy = (s: string) => new Date(`${s.replace(' ', 'T')}+08:00`).getTime();

/** Real HTTP against one booted app, plus seeding through the app's own services. */
class Harness {
  constructor(readonly t: TestApp) {}

  async get(path: string, headers: Record<string, string> = {}): Promise<Reply> {
    const res = await fetch(this.t.url + path, { headers });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
  }

  get ds() {
    return this.t.app.get(DatabaseService).dataSource;
  }

  /** A follower with the initial credits (INITIAL_CREDITS, 10). */
  async user(openid = uid('oUser_')): Promise<string> {
    await this.t.app.get(UserService).upsert(openid, 'subscribe');
    return openid;
  }

  async consume(openid: string, taskId: string, amount = 1, requestImageCount = 1, successImageCount = 1): Promise<void> {
    await this.t.app.get(CreditsService).consume({ openid, taskId, taskType: 'classify', amount, requestImageCount, successImageCount });
  }

  /** A desktop bound through a scanned string-scene QR code, exactly as a subscribe event binds it. */
  async bind(clientId: string, openid: string): Promise<void> {
    const bindings = this.t.app.get(BindingService);
    await bindings.createBinding(clientId);
    const scene = uid('bind_');
    const now = new Date();
    await this.ds.getRepository(QrScene).insert({
      sceneStr: scene,
      clientId,
      ticket: uid('ticket-'),
      qrcodeContent: 'http://weixin.qq.com/q/test',
      expireAt: new Date(now.getTime() + 1800_000),
      createdAt: now,
    });
    expect(await bindings.updateBinding(scene, openid, 'subscribe')).toEqual({ bound: true });
  }

  async setMembership(openid: string, m: { isMember: boolean; memberLifetime: boolean; memberExpireAt: Date | null }): Promise<void> {
    await this.ds.getRepository(WechatUser).update({ openid }, m);
  }

  invariants(): Promise<void> {
    return expectInvariants((sql) => this.ds.query(sql));
  }
}

describe.each(dbKinds())('user API [%s]', (kind) => {
  let h: Harness;

  beforeAll(async () => {
    // A generous limit: this suite sends many requests to the same route from one IP.
    h = new Harness(await startAppOnFreshDb(kind, { RATE_LIMIT_PER_MINUTE: '100000' }));
  });

  afterAll(async () => {
    if (h) await h.invariants();
    await h?.t.close();
  });

  describe('response shapes', () => {
    it('GET /user/credits: balances, membership, follow state (token)', async () => {
      const openid = await h.user();
      await h.consume(openid, 't1', 3);
      const res = await h.get('/api/v1/user/credits', bearer(openid));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.body).toStrictEqual({
        success: true,
        total_credits: 10,
        used_credits: 3,
        remaining_credits: 7,
        is_member: false,
        member_expire_at: null,
        is_followed: true,
      });
      expect(Object.keys(res.body)).toEqual([
        'success',
        'total_credits',
        'used_credits',
        'remaining_credits',
        'is_member',
        'member_expire_at',
        'is_followed',
      ]);
    });

    it('GET /user/member-status', async () => {
      const openid = await h.user();
      const res = await h.get('/api/v1/user/member-status', bearer(openid));
      expect(res.status).toBe(200);
      expect(res.body).toStrictEqual({ success: true, is_member: false, member_expire_at: null });
    });

    it('GET /user/credits-usage: rows newest first, legacy Shanghai datetimes', async () => {
      const openid = await h.user();
      await h.consume(openid, 'task-a', 1, 4, 3);
      await h.consume(openid, 'task-b', 2, 2, 2);
      const res = await h.get('/api/v1/user/credits-usage', bearer(openid));
      expect(res.status).toBe(200);
      expect(res.body).toStrictEqual({
        success: true,
        count: 2,
        data: [
          {
            id: expect.any(Number),
            task_id: 'task-b',
            task_type: 'classify',
            credits_used: 2,
            request_image_count: 2,
            success_image_count: 2,
            created_at: expect.stringMatching(LEGACY_DT),
          },
          {
            id: expect.any(Number),
            task_id: 'task-a',
            task_type: 'classify',
            credits_used: 1,
            request_image_count: 4,
            success_image_count: 3,
            created_at: expect.stringMatching(LEGACY_DT),
          },
        ],
      });
      expect(res.body.data[0].id).toBeGreaterThan(res.body.data[1].id);
      // Asia/Shanghai wall clock: read back as +08:00 it is "now".
      expect(Math.abs(fromLegacy(res.body.data[0].created_at) - Date.now())).toBeLessThan(60_000);
      expect(Object.keys(res.body.data[0])).toEqual([
        'id',
        'task_id',
        'task_type',
        'credits_used',
        'request_image_count',
        'success_image_count',
        'created_at',
      ]);
    });

    it('GET /user/credits-usage: a user without usage gets an empty page', async () => {
      const openid = await h.user();
      expect((await h.get('/api/v1/user/credits-usage', bearer(openid))).body).toStrictEqual({ success: true, count: 0, data: [] });
    });

    it('GET /user/credits-ledger: every change, newest first, ISO datetimes', async () => {
      const openid = await h.user();
      await h.consume(openid, 'L1', 2);
      await h.consume(openid, 'L2', 3);
      const res = await h.get('/api/v1/user/credits-ledger', bearer(openid));
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.body).toStrictEqual({
        success: true,
        data: [
          {
            id: expect.any(Number),
            delta: -3,
            balance_after: 5,
            reason: 'consume',
            ref: 'classify:L2',
            created_at: expect.stringMatching(ISO_DT),
          },
          {
            id: expect.any(Number),
            delta: -2,
            balance_after: 8,
            reason: 'consume',
            ref: 'classify:L1',
            created_at: expect.stringMatching(ISO_DT),
          },
          {
            id: expect.any(Number),
            delta: 10,
            balance_after: 10,
            reason: 'signup_bonus',
            ref: openid,
            created_at: expect.stringMatching(ISO_DT),
          },
        ],
      });
      expect(Object.keys(res.body.data[0])).toEqual(['id', 'delta', 'balance_after', 'reason', 'ref', 'created_at']);
      expect(Math.abs(new Date(res.body.data[0].created_at).getTime() - Date.now())).toBeLessThan(60_000);
    });
  });

  describe('membership display', () => {
    const future = new Date('2037-06-01T00:00:00Z'); // MySQL TIMESTAMP ends in 2038
    const past = new Date('2020-01-01T00:00:00Z');

    it.each([
      ['lifetime member: expiry hidden', { isMember: true, memberLifetime: true, memberExpireAt: past }, true, null],
      ['lifetime member without expiry', { isMember: true, memberLifetime: true, memberExpireAt: null }, true, null],
      ['timed member before expiry', { isMember: true, memberLifetime: false, memberExpireAt: future }, true, '2037-06-01 08:00:00'],
      ['timed member after expiry', { isMember: true, memberLifetime: false, memberExpireAt: past }, false, '2020-01-01 08:00:00'],
      ['member flag without lifetime or expiry', { isMember: true, memberLifetime: false, memberExpireAt: null }, false, null],
      ['non-member', { isMember: false, memberLifetime: false, memberExpireAt: null }, false, null],
    ])('%s', async (_name, m, isMember, expireAt) => {
      const openid = await h.user();
      await h.setMembership(openid, m);
      const credits = await h.get('/api/v1/user/credits', bearer(openid));
      expect(credits.body).toMatchObject({ is_member: isMember, member_expire_at: expireAt });
      const status = await h.get('/api/v1/user/member-status', bearer(openid));
      expect(status.body).toStrictEqual({ success: true, is_member: isMember, member_expire_at: expireAt });
    });
  });

  describe('identity', () => {
    let openid: string;
    let clientId: string;
    let otherOpenid: string;

    beforeAll(async () => {
      openid = await h.user();
      otherOpenid = await h.user();
      clientId = uid('desk-');
      await h.bind(clientId, openid);
    });

    it('a valid session token identifies the caller on every endpoint', async () => {
      for (const path of ['credits', 'member-status', 'credits-usage', 'credits-ledger']) {
        const res = await h.get(`/api/v1/user/${path}`, bearer(openid));
        expect(res.status).toBe(200);
        expect(res.body.success).toBe(true);
      }
    });

    it('client_id identifies the bound user on credits, member-status and credits-usage', async () => {
      await h.consume(openid, 'by-client');
      const credits = await h.get(`/api/v1/user/credits?client_id=${clientId}`);
      expect(credits.status).toBe(200);
      expect(credits.body).toMatchObject({ success: true, remaining_credits: 9, used_credits: 1, is_followed: true });
      expect((await h.get(`/api/v1/user/member-status?client_id=${clientId}`)).body).toStrictEqual({
        success: true,
        is_member: false,
        member_expire_at: null,
      });
      const usage = await h.get(`/api/v1/user/credits-usage?client_id=${clientId}`);
      expect(usage.status).toBe(200);
      expect(usage.body.data.map((r: { task_id: string }) => r.task_id)).toEqual(['by-client']);
    });

    it("the token wins over client_id (another user's desktop)", async () => {
      const res = await h.get(`/api/v1/user/credits?client_id=${clientId}`, bearer(otherOpenid));
      expect(res.status).toBe(200);
      expect(res.body.remaining_credits).toBe(10);
    });

    it('leading/trailing whitespace around client_id is trimmed', async () => {
      const res = await h.get(`/api/v1/user/credits?client_id=${encodeURIComponent(`  ${clientId}\t `)}`);
      expect(res.status).toBe(200);
      expect(res.body.remaining_credits).toBe(9);
    });

    it('an expired token is 401 登录已过期', async () => {
      const expired = tokenFor(openid, { iat: nowSeconds() - 7300, ttl: 7200 });
      const res = await h.get('/api/v1/user/credits', { authorization: `Bearer ${expired}` });
      expect(res.status).toBe(401);
      expect(res.body).toStrictEqual(EXPIRED);
      expect(res.headers.get('cache-control')).toBe('no-store');
    });

    it.each([
      ['signed with another key', () => tokenFor('oForgedUser', { secret: 'another-secret-0123456789abcdef' })],
      [
        'forged (payload swapped)',
        () =>
          tokenFor('oSomeone').replace(
            /\.[^.]+\./,
            `.${Buffer.from(JSON.stringify({ sub: 'oForged', iat: nowSeconds(), exp: nowSeconds() + 600 })).toString('base64url')}.`,
          ),
      ],
      [
        'alg none',
        () =>
          `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'oX', iat: 1, exp: 9999999999 })).toString('base64url')}.`,
      ],
      ['garbage', () => 'garbage'],
    ])('a token %s is 401 登录已过期 even with a valid client_id', async (_name, make) => {
      for (const path of ['credits', 'member-status', 'credits-usage', 'credits-ledger']) {
        const res = await h.get(`/api/v1/user/${path}?client_id=${clientId}`, { authorization: `Bearer ${make()}` });
        expect(res.status).toBe(401);
        expect(res.body).toStrictEqual(EXPIRED);
      }
    });

    it('no identity is 401 请先关注公众号并扫码', async () => {
      for (const path of ['credits', 'member-status', 'credits-usage', 'credits-ledger']) {
        const res = await h.get(`/api/v1/user/${path}`);
        expect(res.status).toBe(401);
        expect(res.body).toStrictEqual(NO_CALLER);
        expect(res.headers.get('cache-control')).toBe('no-store');
      }
    });

    it('X-WeChat-OpenID is ignored when not allowed (an old page sending only it is told to re-enter from the menu)', async () => {
      const res = await h.get('/api/v1/user/credits', { 'x-wechat-openid': openid });
      expect(res.status).toBe(401);
      expect(res.body).toStrictEqual(EXPIRED);
      // …and client_id still works beside it.
      const withClient = await h.get(`/api/v1/user/credits?client_id=${clientId}`, { 'x-wechat-openid': otherOpenid });
      expect(withClient.status).toBe(200);
      expect(withClient.body.remaining_credits).toBe(9);
    });

    it('another Authorization scheme is ignored', async () => {
      const basic = { authorization: `Basic ${Buffer.from('user:pass').toString('base64')}` };
      expect(await h.get('/api/v1/user/credits', basic)).toMatchObject({ status: 401, body: NO_CALLER });
      const withClient = await h.get(`/api/v1/user/credits?client_id=${clientId}`, basic);
      expect(withClient.status).toBe(200);
    });

    it.each([
      ['too long', 'a'.repeat(129)],
      ['inner spaces', 'desk 1'],
      ['SQL text', "x' OR '1'='1"],
      ['SQL comment', 'a;DROP TABLE wechat_users;--'],
      ['script text', '<script>alert(1)</script>'],
      ['empty', ''],
      ['only spaces', '   '],
      ['non-ASCII', '客户端'],
    ])('client_id %s is 400 client_id格式错误', async (_name, value) => {
      for (const path of ['credits', 'member-status', 'credits-usage']) {
        const res = await h.get(`/api/v1/user/${path}?client_id=${encodeURIComponent(value)}`);
        expect(res.status).toBe(400);
        expect(res.body).toStrictEqual(BAD_CLIENT_ID);
        expect(res.headers.get('cache-control')).toBe('no-store');
      }
    });

    it('a repeated client_id parameter is 400 client_id格式错误', async () => {
      const res = await h.get(`/api/v1/user/credits?client_id=${clientId}&client_id=${clientId}`);
      expect(res).toMatchObject({ status: 400, body: BAD_CLIENT_ID });
    });

    it('a 128-character client_id is accepted (then looked up)', async () => {
      const res = await h.get(`/api/v1/user/credits?client_id=${'a'.repeat(128)}`);
      expect(res).toMatchObject({ status: 404, body: NOT_FOLLOWED });
    });

    it('an unknown client_id is 404 用户未关注公众号', async () => {
      for (const path of ['credits', 'member-status', 'credits-usage']) {
        const res = await h.get(`/api/v1/user/${path}?client_id=${uid('never-seen-')}`);
        expect(res.status).toBe(404);
        expect(res.body).toStrictEqual(NOT_FOLLOWED);
        expect(res.headers.get('cache-control')).toBe('no-store');
      }
    });

    it('a client that asked for a QR but was never scanned is 404 用户未关注公众号', async () => {
      const pending = uid('pending-');
      await h.t.app.get(BindingService).createBinding(pending);
      expect(await h.get(`/api/v1/user/credits?client_id=${pending}`)).toMatchObject({ status: 404, body: NOT_FOLLOWED });
    });

    it('a binding whose user row is missing is 404 用户不存在', async () => {
      const orphan = uid('orphan-');
      await h.bind(orphan, uid('oNoRow_'));
      expect(await h.get(`/api/v1/user/credits?client_id=${orphan}`)).toMatchObject({ status: 404, body: NO_USER });
    });

    it('a valid token for an openid without a user row is 404 用户不存在', async () => {
      expect(await h.get('/api/v1/user/credits', bearer(uid('oGhost_')))).toMatchObject({ status: 404, body: NO_USER });
    });

    it('a bound user who unsubscribed is still found: 200 with is_followed false', async () => {
      const leaver = await h.user();
      const desk = uid('desk-');
      await h.bind(desk, leaver);
      await h.t.app.get(UserService).upsert(leaver, 'unsubscribe');
      const res = await h.get(`/api/v1/user/credits?client_id=${desk}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ success: true, remaining_credits: 10, is_followed: false });
      expect((await h.get('/api/v1/user/credits', bearer(leaver))).body.is_followed).toBe(false);
    });

    it('credits-ledger refuses client_id-only identity (401), even a valid one', async () => {
      const res = await h.get(`/api/v1/user/credits-ledger?client_id=${clientId}`);
      expect(res.status).toBe(401);
      expect(res.body).toStrictEqual(NO_CALLER);
      // Not a parameter of this endpoint: a malformed one is not even looked at.
      expect(await h.get('/api/v1/user/credits-ledger?client_id=bad%20id')).toMatchObject({ status: 401, body: NO_CALLER });
      // With a token it is simply ignored.
      const withToken = await h.get(`/api/v1/user/credits-ledger?client_id=${clientId}`, bearer(otherOpenid));
      expect(withToken.status).toBe(200);
      expect(withToken.body.data.map((e: { ref: string }) => e.ref)).toEqual([otherOpenid]);
    });

    it('identity is checked before the query parameters', async () => {
      expect(await h.get('/api/v1/user/credits-usage?limit=0')).toMatchObject({ status: 401, body: NO_CALLER });
      expect(await h.get(`/api/v1/user/credits-usage?limit=0&client_id=${uid('never-')}`)).toMatchObject({
        status: 404,
        body: NOT_FOLLOWED,
      });
    });
  });

  describe('pagination', () => {
    let openid: string;

    beforeAll(async () => {
      openid = await h.user();
      for (let i = 1; i <= 5; i++) await h.consume(openid, `p${i}`);
    });

    it('credits-usage pages by limit and before_id, newest first, without gaps or repeats', async () => {
      const all = await h.get('/api/v1/user/credits-usage?limit=100', bearer(openid));
      expect(all.body.data.map((r: { task_id: string }) => r.task_id)).toEqual(['p5', 'p4', 'p3', 'p2', 'p1']);
      const seen: string[] = [];
      let before = '';
      for (const expected of [2, 2, 1, 0]) {
        const page = await h.get(`/api/v1/user/credits-usage?limit=2${before}`, bearer(openid));
        expect(page.status).toBe(200);
        expect(page.body.count).toBe(expected);
        expect(page.body.data).toHaveLength(expected);
        seen.push(...page.body.data.map((r: { task_id: string }) => r.task_id));
        if (expected) before = `&before_id=${page.body.data[expected - 1].id}`;
      }
      expect(seen).toEqual(['p5', 'p4', 'p3', 'p2', 'p1']);
    });

    it('credits-usage defaults to 20 rows', async () => {
      // History rows as the old service left them (no ledger entries needed for the history view).
      const heavy = await h.user();
      const at = new Date(Date.now() - 3600_000);
      await h.ds.getRepository(CreditsUsage).insert(
        Array.from({ length: 25 }, (_, i) => ({
          openid: heavy,
          taskId: `d${i}`,
          taskType: 'legacy',
          creditsUsed: 0,
          requestImageCount: 1,
          successImageCount: 1,
          createdAt: at,
        })),
      );
      const res = await h.get('/api/v1/user/credits-usage', bearer(heavy));
      expect(res.body.count).toBe(20);
      expect(res.body.data[0].task_id).toBe('d24');
      expect(res.body.data[19].task_id).toBe('d5');
      expect(await h.get('/api/v1/user/credits-usage?limit=100', bearer(heavy))).toMatchObject({ body: { count: 25 } });
    });

    it('credits-ledger pages by limit and before_id', async () => {
      const first = await h.get('/api/v1/user/credits-ledger?limit=4', bearer(openid));
      expect(first.body.data.map((e: { ref: string }) => e.ref)).toEqual(['classify:p5', 'classify:p4', 'classify:p3', 'classify:p2']);
      const last = first.body.data[3].id;
      const second = await h.get(`/api/v1/user/credits-ledger?limit=4&before_id=${last}`, bearer(openid));
      expect(second.body.data.map((e: { ref: string; reason: string }) => `${e.reason}:${e.ref}`)).toEqual([
        'consume:classify:p1',
        `signup_bonus:${openid}`,
      ]);
      expect(second.body.data.map((e: { balance_after: number }) => e.balance_after)).toEqual([9, 10]);
    });

    it("before_id never shows another user's rows", async () => {
      const other = await h.user();
      await h.consume(other, 'mine');
      const res = await h.get('/api/v1/user/credits-usage?before_id=999999999', bearer(openid));
      expect(res.body.data.map((r: { task_id: string }) => r.task_id)).toEqual(['p5', 'p4', 'p3', 'p2', 'p1']);
    });

    it.each(['0', '101', 'abc', '-1', '1.5', '', '1e2', '99999999999999999999'])('limit=%s is 400 limit: must be 1-100', async (limit) => {
      for (const path of ['credits-usage', 'credits-ledger']) {
        const res = await h.get(`/api/v1/user/${path}?limit=${limit}`, bearer(openid));
        expect(res.status).toBe(400);
        expect(res.body).toStrictEqual({ detail: 'limit: must be 1-100' });
        expect(res.headers.get('cache-control')).toBe('no-store');
      }
    });

    it('limits 1 and 100 are accepted', async () => {
      expect((await h.get('/api/v1/user/credits-usage?limit=1', bearer(openid))).body.count).toBe(1);
      expect((await h.get('/api/v1/user/credits-ledger?limit=100', bearer(openid))).body.data).toHaveLength(6);
    });

    it.each(['0', '-5', 'abc', '2.5', ''])('before_id=%s is 400', async (before) => {
      for (const path of ['credits-usage', 'credits-ledger']) {
        const res = await h.get(`/api/v1/user/${path}?before_id=${before}`, bearer(openid));
        expect(res.status).toBe(400);
        expect(res.body).toStrictEqual({ detail: 'before_id: must be a positive integer' });
      }
    });
  });

  describe('routing and documentation', () => {
    it('a wrong method on a user path is 405', async () => {
      const res = await fetch(`${h.t.url}/api/v1/user/credits`, { method: 'POST' });
      expect(res.status).toBe(405);
      expect(await res.json()).toEqual({ detail: 'Method Not Allowed' });
    });

    it('personal data, orders and sessions are never cached (Cache-Control: no-store); prices may be', async () => {
      const openid = await h.user();
      const cc = async (path: string) => (await h.get(path, bearer(openid))).headers.get('cache-control');
      expect(await cc('/api/v1/user/credits')).toBe('no-store');
      expect(await cc('/API/V1/User/credits')).toBe('no-store'); // routes match case-insensitively, so does the header
      expect(await cc('/api/v1/payment/orders')).toBe('no-store');
      expect(await cc('/api/v1/auth/wechat/check-follow?client_id=x')).toBe('no-store');
      expect(await cc('/api/v1/payment/prices')).toBeNull();
      expect(await cc('/api/v1/userx')).toBeNull(); // a prefix is a whole path segment
    });

    it('the OpenAPI document lists the user endpoints with bearer auth and their query parameters', async () => {
      const doc = (await (await fetch(`${h.t.url}/docs/openapi.json`)).json()) as {
        paths: Record<string, { get: { security?: unknown[]; parameters?: Array<{ name: string; in: string }> } }>;
      };
      const params = (p: string) => (doc.paths[p].get.parameters ?? []).map((x) => `${x.in}:${x.name}`).sort();
      for (const p of ['credits', 'member-status', 'credits-usage', 'credits-ledger']) {
        expect(doc.paths[`/api/v1/user/${p}`].get.security).toEqual([{ bearer: [] }]);
      }
      expect(params('/api/v1/user/credits')).toEqual(['query:client_id']);
      expect(params('/api/v1/user/credits-usage')).toEqual(['query:before_id', 'query:client_id', 'query:limit']);
      expect(params('/api/v1/user/credits-ledger')).toEqual(['query:before_id', 'query:limit']);
    });
  });

  describe('with ALLOW_OPENID_HEADER=true', () => {
    let other: Harness;

    beforeAll(async () => {
      other = new Harness(await startAppOnFreshDb(kind, { ALLOW_OPENID_HEADER: 'true', RATE_LIMIT_PER_MINUTE: '100000' }));
    });

    afterAll(async () => {
      await other?.t.close();
    });

    it('X-WeChat-OpenID identifies the caller, before client_id', async () => {
      const openid = await other.user();
      const res = await other.get('/api/v1/user/credits', { 'x-wechat-openid': openid });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ success: true, remaining_credits: 10, is_followed: true });
      expect((await other.get('/api/v1/user/credits-ledger', { 'x-wechat-openid': openid })).status).toBe(200);
      const desk = uid('desk-');
      const someoneElse = await other.user();
      await other.consume(someoneElse, 'x', 4);
      await other.bind(desk, someoneElse);
      expect((await other.get(`/api/v1/user/credits?client_id=${desk}`, { 'x-wechat-openid': openid })).body.remaining_credits).toBe(10);
    });

    it('an unknown or malformed openid in the header is 404 用户不存在', async () => {
      expect(await other.get('/api/v1/user/credits', { 'x-wechat-openid': uid('oNobody_') })).toMatchObject({
        status: 404,
        body: NO_USER,
      });
      expect(await other.get('/api/v1/user/credits', { 'x-wechat-openid': "o' OR 1=1 --" })).toMatchObject({
        status: 404,
        body: NO_USER,
      });
    });

    it('a bad token still wins: 401 登录已过期', async () => {
      const openid = await other.user();
      const res = await other.get('/api/v1/user/credits', { authorization: 'Bearer nope', 'x-wechat-openid': openid });
      expect(res).toMatchObject({ status: 401, body: EXPIRED });
    });
  });

  describe('rate limit per IP', () => {
    let limited: Harness;

    beforeAll(async () => {
      limited = new Harness(await startAppOnFreshDb(kind, { RATE_LIMIT_PER_MINUTE: '5' }));
    });

    afterAll(async () => {
      await limited?.t.close();
    });

    it('the 6th request within a minute is 429 with the Chinese detail', async () => {
      const openid = await limited.user();
      for (let i = 1; i <= 5; i++) {
        const res = await limited.get('/api/v1/user/credits', bearer(openid));
        expect(res.status).toBe(200);
      }
      const res = await limited.get('/api/v1/user/credits', bearer(openid));
      expect(res.status).toBe(429);
      expect(res.body).toStrictEqual({ detail: '请求过于频繁，请稍后再试' });
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(Number(res.headers.get('retry-after-perIp'))).toBeGreaterThan(0);
      // Refused requests with no identity are counted (and refused) the same way.
      expect(await limited.get('/api/v1/user/credits')).toMatchObject({ status: 429 });
    });
  });
});
