import { randomBytes } from 'node:crypto';
import { createServer, Socket } from 'node:net';
import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { ServiceUnavailableError } from '../../src/common/errors';
import { DatabaseService } from '../../src/database/database.service';
import { BindingService } from '../../src/binding/binding.service';
import { InternalApi } from '../../src/internal/internal-api';
import { withLogsShownOnFailure } from '../setup/app-logs';
import { expectInvariants } from '../setup/invariants';
import { MYSQL } from '../setup/mysql';
import { TcpFaultProxy } from '../setup/tcp-fault-proxy';
import { AppOnFreshDb, dbKinds, DbKind, freePort, startApp, startAppOnFreshDb, TestApp } from '../setup/test-app';
import {
  ACCOUNT_ID,
  eventXml,
  openReply,
  PUSH_MODES,
  PushMode,
  signedPush,
  SignedPush,
  TEST_KEYS,
  VERIFY_PATH,
  verifyQuery,
  wechatEnv,
} from '../support/wechat-push';

/** docs/callbacks.md §1–2: server URL verification and message/event pushes, over real HTTP. */

const TEXT = {
  welcome: '欢迎关注！您已获得10张图片编辑额度。',
  welcomeBack: '欢迎回来！',
  bindSuccess: '已绑定电脑端，可返回电脑继续使用。',
  bindExpired: '二维码已过期，请在电脑端刷新二维码后重新扫码。',
};
const VERIFY_FAILED = { detail: '验证失败' };
const UNAVAILABLE = { detail: '服务暂不可用' };
const INTERNAL_SECRET = 'push-e2e-internal-secret-0123456789abcdef';
const WATCHED_TABLES = ['wechat_users', 'credit_ledger', 'wechat_qrcode_bindings', 'wechat_qr_scenes', 'wechat_callback_nonces'];

let seq = 0;
const uid = (prefix: string) => `${prefix}${Date.now().toString(36)}${(seq++).toString(36)}${randomBytes(2).toString('hex')}`;

interface Answer {
  status: number;
  contentType: string;
  text: string;
}

async function post(app: TestApp, push: SignedPush): Promise<Answer> {
  const res = await fetch(app.url + push.path(), { method: 'POST', headers: { 'Content-Type': 'text/xml' }, body: push.body });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
}

/** The reply's text content; encrypted replies must verify and decrypt (and only encrypted pushes get them). */
async function replyContent(answer: Answer, mode: PushMode, openid: string): Promise<string> {
  expect(answer.status).toBe(200);
  expect(answer.contentType).toMatch(/^(application|text)\/xml/);
  const reply = await openReply(TEST_KEYS, answer.text);
  expect(reply.encrypted).toBe(mode !== 'plaintext');
  expect(reply.fields).toMatchObject({
    ToUserName: openid,
    FromUserName: ACCOUNT_ID,
    MsgType: 'text',
    CreateTime: expect.stringMatching(/^\d+$/),
  });
  return reply.fields.Content;
}

function sqlTime(kind: DbKind, d: Date): Date | string {
  return kind === 'mysql' ? d : d.toISOString().replace('T', ' ').replace('Z', '');
}

describe.each(dbKinds())('wechat push [%s]', (kind) => {
  let app: AppOnFreshDb;
  let ds: DataSource;

  const q = (sql: string, params: unknown[] = []) => ds.query<Array<Record<string, unknown>>>(sql, params);

  beforeAll(async () => {
    // The internal endpoints are served too (INTERNAL_API_SECRET), for the split-plan tests below.
    app = await startAppOnFreshDb(kind, { ...wechatEnv(), INTERNAL_API_SECRET: INTERNAL_SECRET });
    ds = app.app.get(DatabaseService).dataSource;
  });

  afterAll(async () => {
    await app?.close();
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await expectInvariants((sql) => q(sql));
  });

  /** Every watched table's rows, to prove a rejected request changed nothing. */
  async function snapshot(tables = WATCHED_TABLES): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const t of tables) out[t] = await q(`SELECT * FROM ${t} ORDER BY id`);
    return out;
  }

  async function seedScene(expireInMs: number): Promise<{ scene: string; clientId: string }> {
    const scene = uid('bind_');
    const clientId = uid('PC_');
    await q(
      'INSERT INTO wechat_qr_scenes (scene_str, client_id, ticket, qrcode_content, expire_at, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      [
        scene,
        clientId,
        `ticket-${scene}`,
        `http://weixin.qq.com/q/${scene}`,
        sqlTime(kind, new Date(Date.now() + expireInMs)),
        sqlTime(kind, new Date()),
      ],
    );
    return { scene, clientId };
  }

  /** A binding row; `legacy` ones are what the old service left (their id is a permanent integer scene). */
  async function seedBinding(row: {
    legacy: boolean;
    openid?: string;
    status?: 'pending' | 'completed';
  }): Promise<{ id: number; clientId: string }> {
    const clientId = uid('PC_');
    await q(
      'INSERT INTO wechat_qrcode_bindings (client_id, scene_id, openid, status, legacy_scene, created_at) VALUES (?, 0, ?, ?, ?, ?)',
      [clientId, row.openid ?? null, row.status ?? (row.openid ? 'completed' : 'pending'), row.legacy ? 1 : 0, sqlTime(kind, new Date())],
    );
    const [{ id }] = await q('SELECT id FROM wechat_qrcode_bindings WHERE client_id = ?', [clientId]);
    return { id: Number(id), clientId };
  }

  const binding = async (clientId: string) =>
    (await q('SELECT openid, status FROM wechat_qrcode_bindings WHERE client_id = ?', [clientId]))[0];
  const bindingById = async (id: number) => (await q('SELECT openid, status FROM wechat_qrcode_bindings WHERE id = ?', [id]))[0];
  const user = async (openid: string) => {
    const [u] = await q('SELECT remaining_credits, total_credits, subscribed FROM wechat_users WHERE openid = ?', [openid]);
    return u ? { remaining: Number(u.remaining_credits), total: Number(u.total_credits), subscribed: Number(u.subscribed) } : undefined;
  };
  const ledger = async (openid: string) =>
    (await q('SELECT reason, delta FROM credit_ledger WHERE openid = ? ORDER BY id', [openid])).map(
      (r) => `${String(r.reason)}:${Number(r.delta)}`,
    );

  describe('GET verify (server URL verification)', () => {
    const get = async (query: URLSearchParams) => {
      const res = await fetch(`${app.url}${VERIFY_PATH}?${query.toString()}`);
      return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
    };

    it('answers the echostr exactly, as text/plain, when the signature is valid', async () => {
      const echostr = '4375120948345356249';
      const res = await get(verifyQuery(TEST_KEYS, echostr));
      expect(res).toEqual({ status: 200, contentType: expect.stringMatching(/^text\/plain/), text: echostr });
    });

    it('safe mode: verifies msg_signature over the encrypted echostr and answers the plaintext', async () => {
      const res = await get(verifyQuery(TEST_KEYS, '1234567890987654321', { safe: true }));
      expect(res).toEqual({ status: 200, contentType: expect.stringMatching(/^text\/plain/), text: '1234567890987654321' });
    });

    it('a forged, missing or stale signature, or a missing echostr, is 403 验证失败', async () => {
      const cases: URLSearchParams[] = [];
      const forged = verifyQuery(TEST_KEYS, 'abc');
      forged.set('signature', '0'.repeat(40));
      cases.push(forged);
      const missing = verifyQuery(TEST_KEYS, 'abc');
      missing.delete('signature');
      cases.push(missing);
      cases.push(verifyQuery(TEST_KEYS, 'abc', { timestamp: Math.floor(Date.now() / 1000) - 400 }));
      cases.push(verifyQuery(TEST_KEYS, 'abc', { timestamp: Math.floor(Date.now() / 1000) + 400 }));
      const noEcho = verifyQuery(TEST_KEYS, 'abc');
      noEcho.delete('echostr');
      cases.push(noEcho);
      const badSafe = verifyQuery(TEST_KEYS, 'abc', { safe: true });
      badSafe.set('msg_signature', 'f'.repeat(40));
      cases.push(badSafe);
      cases.push(verifyQuery({ ...TEST_KEYS, token: 'someoneElsesToken' }, 'abc'));
      cases.push(new URLSearchParams());
      for (const query of cases) {
        const res = await get(query);
        expect({ status: res.status, body: JSON.parse(res.text) }).toEqual({ status: 403, body: VERIFY_FAILED });
      }
    });
  });

  describe.each(PUSH_MODES)('%s mode', (mode) => {
    const push = (xml: string, opts = {}) => signedPush(TEST_KEYS, mode, xml, opts);

    it('a forged, missing or stale signature is 403 and changes nothing', async () => {
      const { scene } = await seedScene(600_000);
      const openid = uid('oForge');
      const xml = eventXml(openid, 'subscribe', `qrscene_${scene}`);
      const before = await snapshot();
      const sigParam = mode === 'plaintext' ? 'signature' : 'msg_signature';

      const forged = push(xml);
      forged.query.set(sigParam, 'a'.repeat(40));
      const missing = push(xml);
      missing.query.delete(sigParam);
      const stale = push(xml, { timestamp: Math.floor(Date.now() / 1000) - 301 });
      const future = push(xml, { timestamp: Math.floor(Date.now() / 1000) + 400 });
      const otherToken = signedPush({ ...TEST_KEYS, token: 'notOurToken' }, mode, xml);
      const noNonce = push(xml);
      noNonce.query.delete('nonce');
      for (const p of [forged, missing, stale, future, otherToken, noNonce]) {
        const res = await post(app, p);
        expect({ status: res.status, body: JSON.parse(res.text) }).toEqual({ status: 403, body: VERIFY_FAILED });
      }
      if (mode !== 'plaintext') {
        // The signature covers the Encrypt element: a re-encrypted body under the old signature fails.
        const original = push(xml);
        const swapped = push(eventXml(uid('oEvil'), 'subscribe', `qrscene_${scene}`), {
          timestamp: original.query.get('timestamp')!,
          nonce: original.query.get('nonce')!,
        });
        swapped.query.set('msg_signature', original.query.get('msg_signature')!);
        const res = await post(app, swapped);
        expect(res.status).toBe(403);
      }
      expect(await snapshot()).toEqual(before);
    });

    if (mode !== 'plaintext') {
      it('a ciphertext made for another appid is 403 and changes nothing', async () => {
        const before = await snapshot();
        const res = await post(app, push(eventXml(uid('oAppid'), 'subscribe'), { encryptAppId: 'wxffffffffffffffff' }));
        expect({ status: res.status, body: JSON.parse(res.text) }).toEqual({ status: 403, body: VERIFY_FAILED });
        expect(await snapshot()).toEqual(before);
      });

      it('an encrypted push whose decrypted message lacks FromUserName is 400 and changes nothing', async () => {
        const before = await snapshot();
        const res = await post(
          app,
          push(
            '<xml><ToUserName><![CDATA[gh_x]]></ToUserName><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>',
          ),
        );
        expect(res.status).toBe(400);
        expect(JSON.parse(res.text)).toEqual({ detail: expect.stringContaining('FromUserName') });
        expect(await snapshot()).toEqual(before);
      });
    } else {
      it('a replay with the same signature and another body is 403; the same body again is a retry', async () => {
        const openid = uid('oReplay');
        const first = push(eventXml(openid, 'subscribe'));
        expect((await post(app, first)).status).toBe(200);
        const before = await snapshot();

        const replay = push(eventXml(uid('oThief'), 'subscribe'));
        for (const k of ['signature', 'timestamp', 'nonce']) replay.query.set(k, first.query.get(k)!);
        const res = await post(app, replay);
        expect({ status: res.status, body: JSON.parse(res.text) }).toEqual({ status: 403, body: VERIFY_FAILED });
        expect(await snapshot()).toEqual(before);

        // WeChat's own retry (identical request) is processed again, idempotently.
        const retry = await post(app, first);
        expect(await replyContent(retry, mode, openid)).toBe(TEXT.welcomeBack);
        expect(await user(openid)).toMatchObject({ remaining: 10, total: 10 });
      });
    }

    it('subscribe through a QR scene binds the client, grants 10 credits once and replies welcome + bound', async () => {
      const { scene, clientId } = await seedScene(600_000);
      const openid = uid('oNew');
      const res = await post(app, push(eventXml(openid, 'subscribe', `qrscene_${scene}`)));
      expect(await replyContent(res, mode, openid)).toBe(`${TEXT.welcome}\n${TEXT.bindSuccess}`);
      expect(await binding(clientId)).toEqual({ openid, status: 'completed' });
      expect(await user(openid)).toEqual({ remaining: 10, total: 10, subscribed: 1 });
      expect(await ledger(openid)).toEqual(['signup_bonus:10']);
    });

    it('the same push delivered 5× concurrently: all 200, still 10 credits and one ledger entry', async () => {
      const { scene, clientId } = await seedScene(600_000);
      const openid = uid('oDup');
      const p = push(eventXml(openid, 'subscribe', `qrscene_${scene}`));
      const answers = await Promise.all(Array.from({ length: 5 }, () => post(app, p)));
      const contents = await Promise.all(answers.map((a) => replyContent(a, mode, openid)));
      for (const c of contents) expect(c.split('\n')[1]).toBe(TEXT.bindSuccess);
      expect(contents.filter((c) => c.startsWith(TEXT.welcome))).toHaveLength(1);
      expect(await user(openid)).toEqual({ remaining: 10, total: 10, subscribed: 1 });
      expect(await ledger(openid)).toEqual(['signup_bonus:10']);
      expect(await binding(clientId)).toEqual({ openid, status: 'completed' });
    });

    it('unsubscribe clears the subscription (empty 200), keeps credits; re-subscribe says welcome back without new credits', async () => {
      const openid = uid('oUnsub');
      expect(await replyContent(await post(app, push(eventXml(openid, 'subscribe', ''))), mode, openid)).toBe(TEXT.welcome);

      const unsub = await post(app, push(eventXml(openid, 'unsubscribe')));
      expect(unsub).toMatchObject({ status: 200, text: '' });
      expect(await user(openid)).toEqual({ remaining: 10, total: 10, subscribed: 0 });

      const again = await post(app, push(eventXml(openid, 'subscribe')));
      expect(await replyContent(again, mode, openid)).toBe(TEXT.welcomeBack);
      expect(await user(openid)).toEqual({ remaining: 10, total: 10, subscribed: 1 });
      expect(await ledger(openid)).toEqual(['signup_bonus:10']);
    });

    it('an expired or unknown scene replies bind-expired and binds nothing, but the user is still upserted', async () => {
      const { scene, clientId } = await seedScene(-1000);
      const openid = uid('oExp');
      const res = await post(app, push(eventXml(openid, 'subscribe', `qrscene_${scene}`)));
      expect(await replyContent(res, mode, openid)).toBe(`${TEXT.welcome}\n${TEXT.bindExpired}`);
      expect(await binding(clientId)).toBeUndefined();
      expect(await user(openid)).toMatchObject({ remaining: 10, subscribed: 1 });

      const unknown = await post(app, push(eventXml(openid, 'SCAN', 'bind_doesNotExist')));
      expect(await replyContent(unknown, mode, openid)).toBe(TEXT.bindExpired);
    });

    it('SCAN by a follower with no row creates the user with credits and replies only the bind line', async () => {
      const { scene, clientId } = await seedScene(600_000);
      const openid = uid('oScan');
      const res = await post(app, push(eventXml(openid, 'SCAN', scene, { Ticket: 'gQH47joAAAAAAAAAASxodHRw' })));
      expect(await replyContent(res, mode, openid)).toBe(TEXT.bindSuccess);
      expect(await binding(clientId)).toEqual({ openid, status: 'completed' });
      expect(await user(openid)).toEqual({ remaining: 10, total: 10, subscribed: 1 });
      expect(await ledger(openid)).toEqual(['signup_bonus:10']);
    });

    it('a scene re-binds its client to the new scanner (a desktop switching WeChat account)', async () => {
      const { scene, clientId } = await seedScene(600_000);
      const first = uid('oFirst');
      const second = uid('oSecond');
      await post(app, push(eventXml(first, 'SCAN', scene)));
      const res = await post(app, push(eventXml(second, 'SCAN', scene)));
      expect(await replyContent(res, mode, second)).toBe(TEXT.bindSuccess);
      expect(await binding(clientId)).toEqual({ openid: second, status: 'completed' });
    });

    it('other messages and events answer success and change nothing', async () => {
      // (a plaintext push still claims its timestamp/nonce: that is the replay guard, not an effect)
      const businessTables = WATCHED_TABLES.filter((t) => t !== 'wechat_callback_nonces');
      const before = await snapshot(businessTables);
      const openid = uid('oOther');
      const text = buildText(openid, 'hello');
      for (const xml of [text, eventXml(openid, 'CLICK', 'MENU_KEY'), eventXml(openid, 'VIEW', 'https://example.com/')]) {
        const res = await post(app, push(xml));
        expect(res).toMatchObject({ status: 200, text: 'success' });
      }
      expect(await snapshot(businessTables)).toEqual(before);
    });
  });

  it('compatible mode uses only the decrypted fields, never the clear ones', async () => {
    const { scene, clientId } = await seedScene(600_000);
    const real = uid('oReal');
    const p = signedPush(TEST_KEYS, 'compatible', eventXml(real, 'subscribe', `qrscene_${scene}`));
    // Someone rewrites the unauthenticated clear copy; msg_signature only covers Encrypt.
    const attacker = uid('oAttacker');
    p.body = p.body.replace(`<FromUserName><![CDATA[${real}]]></FromUserName>`, `<FromUserName><![CDATA[${attacker}]]></FromUserName>`);
    expect(p.body).toContain(attacker);
    const res = await post(app, p);
    expect(await replyContent(res, 'compatible', real)).toBe(`${TEXT.welcome}\n${TEXT.bindSuccess}`);
    expect(await binding(clientId)).toEqual({ openid: real, status: 'completed' });
    expect(await user(attacker)).toBeUndefined();
  });

  it('a compatible push stripped of encrypt_type/msg_signature (downgrade to its clear copy) is 403', async () => {
    const { scene, clientId } = await seedScene(600_000);
    const real = uid('oReal');
    const p = signedPush(TEST_KEYS, 'compatible', eventXml(real, 'subscribe', `qrscene_${scene}`));
    const attacker = uid('oAttacker');
    p.body = p.body.replace(`<FromUserName><![CDATA[${real}]]></FromUserName>`, `<FromUserName><![CDATA[${attacker}]]></FromUserName>`);
    p.query.delete('encrypt_type');
    p.query.delete('msg_signature');
    const before = await snapshot();
    const res = await post(app, p);
    expect({ status: res.status, body: JSON.parse(res.text) }).toEqual({ status: 403, body: VERIFY_FAILED });
    expect(await snapshot()).toEqual(before);
    expect(await binding(clientId)).toBeUndefined();
  });

  describe('legacy integer scenes (permanent codes of the old service)', () => {
    const push = (xml: string) => signedPush(TEST_KEYS, 'plaintext', xml);

    it('SCAN binds only a pending legacy row', async () => {
      const pending = await seedBinding({ legacy: true });
      const openid = uid('oLeg');
      expect(await replyContent(await post(app, push(eventXml(openid, 'SCAN', String(pending.id)))), 'plaintext', openid)).toBe(
        TEXT.bindSuccess,
      );
      expect(await bindingById(pending.id)).toEqual({ openid, status: 'completed' });
      // Now completed: even its own openid's SCAN does not "bind" it again.
      expect(await replyContent(await post(app, push(eventXml(openid, 'SCAN', String(pending.id)))), 'plaintext', openid)).toBe(
        TEXT.bindExpired,
      );
      expect(await bindingById(pending.id)).toEqual({ openid, status: 'completed' });
    });

    it('subscribe binds a pending row or re-confirms one bound to the same openid', async () => {
      const pending = await seedBinding({ legacy: true });
      const openid = uid('oLegSub');
      const first = await post(app, push(eventXml(openid, 'subscribe', `qrscene_${pending.id}`)));
      expect(await replyContent(first, 'plaintext', openid)).toBe(`${TEXT.welcome}\n${TEXT.bindSuccess}`);
      const again = await post(app, push(eventXml(openid, 'subscribe', `qrscene_${pending.id}`)));
      expect(await replyContent(again, 'plaintext', openid)).toBe(`${TEXT.welcomeBack}\n${TEXT.bindSuccess}`);
      expect(await bindingById(pending.id)).toEqual({ openid, status: 'completed' });
    });

    it('a completed legacy row is never re-bound to another openid (subscribe or SCAN)', async () => {
      const owner = uid('oOwner');
      const row = await seedBinding({ legacy: true, openid: owner });
      const other = uid('oOther');
      const sub = await post(app, push(eventXml(other, 'subscribe', `qrscene_${row.id}`)));
      expect(await replyContent(sub, 'plaintext', other)).toBe(`${TEXT.welcome}\n${TEXT.bindExpired}`);
      const scan = await post(app, push(eventXml(other, 'SCAN', String(row.id))));
      expect(await replyContent(scan, 'plaintext', other)).toBe(TEXT.bindExpired);
      expect(await bindingById(row.id)).toEqual({ openid: owner, status: 'completed' });
      expect(await user(other)).toMatchObject({ remaining: 10 }); // still upserted
    });

    it('a row created by this service never answers an integer scene', async () => {
      const row = await seedBinding({ legacy: false });
      const openid = uid('oNewRow');
      for (const xml of [eventXml(openid, 'SCAN', String(row.id)), eventXml(openid, 'subscribe', `qrscene_${row.id}`)]) {
        const content = await replyContent(await post(app, push(xml)), 'plaintext', openid);
        expect(content.endsWith(TEXT.bindExpired)).toBe(true);
      }
      expect(await bindingById(row.id)).toEqual({ openid: null, status: 'pending' });
    });
  });

  describe('bad bodies', () => {
    const raw = async (body: string | Buffer, mode: PushMode = 'plaintext') => {
      const p = signedPush(TEST_KEYS, mode, eventXml(uid('oBody'), 'subscribe'));
      const res = await fetch(app.url + p.path(), { method: 'POST', headers: { 'Content-Type': 'text/xml' }, body });
      return { status: res.status, body: (await res.json()) as { detail: string } };
    };

    it('DOCTYPE/ENTITY (XXE, billion laughs), truncated, non-XML, empty → 400 and nothing changes', async () => {
      const before = await snapshot();
      const xxe =
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><ToUserName>&xxe;</ToUserName><FromUserName>oX</FromUserName><MsgType>event</MsgType></xml>';
      const laughs =
        '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><xml><FromUserName>&lol2;</FromUserName></xml>';
      const truncated = eventXml(uid('oTrunc'), 'subscribe').slice(0, 60);
      for (const body of [xxe, laughs, truncated, 'hello world', '{"FromUserName":"o"}']) {
        const res = await raw(body);
        expect(res.status).toBe(400);
        expect(res.body.detail).toEqual(expect.any(String));
      }
      expect(await raw('')).toEqual({ status: 400, body: { detail: expect.stringContaining('empty') } });
      // Safe mode: the envelope is parsed before its signature can be checked.
      expect((await raw(xxe, 'safe')).status).toBe(400);
      expect(await snapshot()).toEqual(before);
    });

    it('missing FromUserName or MsgType → 400', async () => {
      const before = await snapshot();
      const noFrom =
        '<xml><ToUserName><![CDATA[gh_x]]></ToUserName><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>';
      const noType = `<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[${uid('oNoType')}]]></FromUserName><Event><![CDATA[subscribe]]></Event></xml>`;
      expect(await raw(noFrom)).toEqual({ status: 400, body: { detail: 'FromUserName: required' } });
      expect(await raw(noType)).toEqual({ status: 400, body: { detail: 'MsgType: required' } });
      expect(await snapshot()).toEqual(before);
    });

    it('a 70 KB body → 413 请求体过大', async () => {
      const big = `<xml><FromUserName>o</FromUserName><Pad>${'a'.repeat(70 * 1024)}</Pad></xml>`;
      expect(await raw(big)).toEqual({ status: 413, body: { detail: '请求体过大' } });
    });

    it('a signed push with a bad body is 400, an unsigned one 403 (verify first)', async () => {
      const p = signedPush(TEST_KEYS, 'plaintext', '<xml><broken');
      expect((await post(app, p)).status).toBe(400);
      p.query.set('signature', 'b'.repeat(40));
      expect((await post(app, p)).status).toBe(403);
    });
  });

  describe('internal failures (one 3 s budget; 503 so that WeChat retries)', () => {
    it.each(PUSH_MODES)('%s: a hung internal call is 503 within 4 s; the retry of the same push completes once', async (mode) => {
      const { scene, clientId } = await seedScene(600_000);
      const openid = uid('oHang');
      const p = signedPush(TEST_KEYS, mode, eventXml(openid, 'subscribe', `qrscene_${scene}`));
      const api = app.app.get(InternalApi);
      // The push's one internal call never answers (the local adapter ignores deadlines): the budget race must.
      const hang = jest.spyOn(api, 'applyPush').mockImplementation(() => new Promise(() => undefined));
      const started = Date.now();
      const res = await post(app, p);
      const took = Date.now() - started;
      expect({ status: res.status, body: JSON.parse(res.text) }).toEqual({ status: 503, body: UNAVAILABLE });
      expect(took).toBeGreaterThanOrEqual(2500);
      expect(took).toBeLessThan(4000);
      expect(await binding(clientId)).toBeUndefined();
      hang.mockRestore();

      const retry = await post(app, p);
      const content = await replyContent(retry, mode, openid);
      expect(content.split('\n')[1]).toBe(TEXT.bindSuccess);
      expect(await binding(clientId)).toEqual({ openid, status: 'completed' });
      expect(await user(openid)).toEqual({ remaining: 10, total: 10, subscribed: 1 });
      expect(await ledger(openid)).toEqual(['signup_bonus:10']);
    });

    it('an internal error (not a 4xx) is 503, never success', () =>
      withLogsShownOnFailure(async () => {
        const api = app.app.get(InternalApi);
        jest.spyOn(api, 'applyPush').mockRejectedValue(new Error('boom'));
        const openid = uid('oBoom');
        const before = await snapshot(WATCHED_TABLES);
        const res = await post(app, signedPush(TEST_KEYS, 'safe', eventXml(openid, 'unsubscribe')));
        expect({ status: res.status, body: JSON.parse(res.text) }).toEqual({ status: 503, body: UNAVAILABLE });
        expect(await snapshot(WATCHED_TABLES)).toEqual(before);
      }));

    it.each(PUSH_MODES)(
      '%s: one transaction per push — a binding that fails mid-push leaves no claim, no user; the retry applies once',
      async (mode) => {
        const { scene, clientId } = await seedScene(600_000);
        const openid = uid('oTx');
        const p = signedPush(TEST_KEYS, mode, eventXml(openid, 'subscribe', `qrscene_${scene}`));
        // The database failing in the middle of the push's transaction (after the claim and the user).
        const fail = jest.spyOn(app.app.get(BindingService), 'updateBindingIn').mockRejectedValue(new ServiceUnavailableError());
        const before = await snapshot(WATCHED_TABLES);
        const res = await post(app, p);
        expect(res.status).toBe(503);
        expect(await snapshot(WATCHED_TABLES)).toEqual(before); // the claim and the user rolled back with it
        fail.mockRestore();
        const retry = await post(app, p);
        expect((await replyContent(retry, mode, openid)).split('\n')).toEqual([TEXT.welcome, TEXT.bindSuccess]);
        expect(await user(openid)).toEqual({ remaining: 10, total: 10, subscribed: 1 });
        expect(await ledger(openid)).toEqual(['signup_bonus:10']);
        expect(await binding(clientId)).toEqual({ openid, status: 'completed' });
      },
    );

    if (kind === 'mysql') {
      it.each(['plaintext', 'safe'] as PushMode[])(
        '%s: MySQL cut mid-service → 503 within 4 s; after restore the same push completes once',
        async (mode) => {
          const proxy = new TcpFaultProxy(MYSQL.host, MYSQL.port);
          await proxy.start();
          const viaProxy = await startApp({ ...app.db.env, ...wechatEnv(), MYSQL_PORT: String(proxy.port) });
          try {
            const { scene, clientId } = await seedScene(600_000);
            const openid = uid('oCut');
            const p = signedPush(TEST_KEYS, mode, eventXml(openid, 'subscribe', `qrscene_${scene}`));

            proxy.cut();
            const started = Date.now();
            const res = await post(viaProxy, p);
            expect({ status: res.status, body: JSON.parse(res.text) }).toEqual({ status: 503, body: UNAVAILABLE });
            expect(Date.now() - started).toBeLessThan(4000);
            expect(await user(openid)).toBeUndefined();
            expect(await binding(clientId)).toBeUndefined();

            proxy.restore();
            const retry = await post(viaProxy, p);
            expect(await replyContent(retry, mode, openid)).toBe(`${TEXT.welcome}\n${TEXT.bindSuccess}`);
            expect(await binding(clientId)).toEqual({ openid, status: 'completed' });
            expect(await ledger(openid)).toEqual(['signup_bonus:10']);
            // A further WeChat retry changes nothing.
            expect(await replyContent(await post(viaProxy, p), mode, openid)).toBe(`${TEXT.welcomeBack}\n${TEXT.bindSuccess}`);
            expect(await ledger(openid)).toEqual(['signup_bonus:10']);
          } finally {
            await viaProxy.close();
            await proxy.stop();
          }
        },
      );
    }
  });

  describe('rejection logs', () => {
    it('every rejection is logged at warn with its reason: no signature, no token, openid masked', async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn');
      const openid = uid('oLogged');
      const first = signedPush(TEST_KEYS, 'plaintext', eventXml(openid, 'SCAN', 'bind_none'));
      expect((await post(app, first)).status).toBe(200);
      const forged = signedPush(TEST_KEYS, 'plaintext', eventXml(openid, 'SCAN', 'bind_none'));
      forged.query.set('signature', 'c'.repeat(40));
      expect((await post(app, forged)).status).toBe(403);
      const replay = signedPush(TEST_KEYS, 'plaintext', eventXml(openid, 'unsubscribe'));
      for (const k of ['signature', 'timestamp', 'nonce']) replay.query.set(k, first.query.get(k)!);
      expect((await post(app, replay)).status).toBe(403);
      expect((await post(app, signedPush(TEST_KEYS, 'plaintext', '<xml><oops'))).status).toBe(400);

      const lines = warn.mock.calls.map((c) => String(c[0]));
      expect(lines).toEqual([
        expect.stringMatching(/rejected \(403\): signature mismatch/),
        expect.stringMatching(/rejected \(403\): replay.*oLogge…/),
        expect.stringMatching(/rejected \(400\): body: not well-formed XML/),
      ]);
      const all = lines.join('\n');
      for (const secret of [TEST_KEYS.token, TEST_KEYS.encodingAesKey, first.query.get('signature')!, 'c'.repeat(40), openid])
        expect(all).not.toContain(secret);
    });
  });

  describe('split plan: role web calls the app server over signed HTTP', () => {
    const webEnv = (baseUrl: string) => ({
      APP_ROLE: 'web',
      INTERNAL_API_SECRET: INTERNAL_SECRET,
      INTERNAL_API_BASE_URL: baseUrl,
      ...wechatEnv(),
    });

    it('a push through the web role has the same effects and reply; the replay guard holds over HTTP', async () => {
      const web = await startApp(webEnv(app.url));
      try {
        const { scene, clientId } = await seedScene(600_000);
        const openid = uid('oWeb');
        const p = signedPush(TEST_KEYS, 'safe', eventXml(openid, 'subscribe', `qrscene_${scene}`));
        expect(await replyContent(await post(web, p), 'safe', openid)).toBe(`${TEXT.welcome}\n${TEXT.bindSuccess}`);
        expect(await binding(clientId)).toEqual({ openid, status: 'completed' });
        expect(await ledger(openid)).toEqual(['signup_bonus:10']);

        const first = signedPush(TEST_KEYS, 'plaintext', eventXml(openid, 'unsubscribe'));
        expect(await post(web, first)).toMatchObject({ status: 200, text: '' });
        const replay = signedPush(TEST_KEYS, 'plaintext', eventXml(uid('oWebThief'), 'subscribe'));
        for (const k of ['signature', 'timestamp', 'nonce']) replay.query.set(k, first.query.get(k)!);
        const before = await snapshot();
        expect((await post(web, replay)).status).toBe(403);
        expect(await snapshot()).toEqual(before);
      } finally {
        await web.close();
      }
    });

    it('app server unreachable → 503 at once; app server hanging → 503 within 4 s', async () => {
      const down = await startApp(webEnv(`http://127.0.0.1:${await freePort()}`));
      const sockets = new Set<Socket>();
      const silent = createServer((s) => {
        sockets.add(s); // accepts, never answers
        s.on('close', () => sockets.delete(s));
      });
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
      const hanging = await startApp(webEnv(`http://127.0.0.1:${(silent.address() as { port: number }).port}`));
      try {
        const p = signedPush(TEST_KEYS, 'safe', eventXml(uid('oDown'), 'subscribe'));
        let started = Date.now();
        const res = await post(down, p);
        expect({ status: res.status, body: JSON.parse(res.text) }).toEqual({ status: 503, body: UNAVAILABLE });
        expect(Date.now() - started).toBeLessThan(2000);

        started = Date.now();
        const slow = await post(hanging, p);
        const took = Date.now() - started;
        expect({ status: slow.status, body: JSON.parse(slow.text) }).toEqual({ status: 503, body: UNAVAILABLE });
        expect(took).toBeGreaterThanOrEqual(2500);
        expect(took).toBeLessThan(4000);
      } finally {
        await down.close();
        await hanging.close();
        for (const s of sockets) s.destroy();
        await new Promise((r) => silent.close(r));
      }
    });
  });
});

function buildText(openid: string, content: string): string {
  return (
    `<xml><ToUserName><![CDATA[${ACCOUNT_ID}]]></ToUserName><FromUserName><![CDATA[${openid}]]></FromUserName>` +
    `<CreateTime>${Math.floor(Date.now() / 1000)}</CreateTime><MsgType><![CDATA[text]]></MsgType>` +
    `<Content><![CDATA[${content}]]></Content><MsgId>1234567890123456</MsgId></xml>`
  );
}
