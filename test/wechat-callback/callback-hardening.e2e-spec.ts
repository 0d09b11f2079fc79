import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { Logger } from '@nestjs/common';
import { Clock } from '../../src/common/clock';
import { ConfigError } from '../../src/config/config-error';
import { loadConfig } from '../../src/config/load-config';
import { DatabaseService } from '../../src/database/database.service';
import { internalSignature } from '../../src/common/internal-signature';
import { SandboxClock } from '../../src/sandbox/core/sandbox-clock';
import * as xml from '../../src/wechat/xml';
import { expectInvariants } from '../setup/invariants';
import { AppOnFreshDb, baseEnv, dbKinds, startApp, startAppOnFreshDb, TestApp } from '../setup/test-app';
import { sendNotification } from '../support/api-client';
import { v2Notification } from '../support/pay-notifications';
import { eventXml, signedPush, SignedPush, WechatKeys } from '../support/wechat-push';

/**
 * Issue 12, items 4–8 (docs/limits.md "Callbacks and request bodies"): the message mode and the
 * replay guard of pushes, the guard's retention, what the callback URLs refuse before parsing, the
 * JSON nesting limit, and the internal HMAC over exactly the bytes received.
 */

const SECRET = 'hardening-e2e-internal-secret-0123456789';
const VERIFY_FAILED = { detail: '验证失败' };
const WATCHED = ['wechat_users', 'credit_ledger', 'wechat_callback_nonces', 'payment_records', 'payment_anomalies'];

let seq = 0;
const uid = (prefix: string) => `${prefix}${Date.now().toString(36)}${(seq++).toString(36)}${randomBytes(2).toString('hex')}`;

async function post(app: TestApp, push: SignedPush): Promise<{ status: number; text: string }> {
  const res = await fetch(app.url + push.path(), { method: 'POST', headers: { 'Content-Type': 'text/xml' }, body: push.body });
  return { status: res.status, text: await res.text() };
}

/** The same query (signature, timestamp, nonce) with encrypt_type/msg_signature stripped and another body. */
function downgraded(of: SignedPush, body: string): SignedPush {
  const query = new URLSearchParams(of.query);
  query.delete('encrypt_type');
  query.delete('msg_signature');
  return { query, body, path: () => `/api/v1/auth/wechat/verify?${query.toString()}` };
}

/** `<xml>` with `n` extra elements after the fields of a real push. */
function withExtraFields(pushXml: string, n: number): string {
  return pushXml.replace('</xml>', `${Array.from({ length: n }, (_, i) => `<X${i}>1</X${i}>`).join('')}</xml>`);
}

describe.each(dbKinds())('issue 12 callbacks and request bodies [%s]', (kind) => {
  let app: AppOnFreshDb;
  let keys: WechatKeys;
  const q = (sql: string, p: unknown[] = []) => app.app.get(DatabaseService).dataSource.query<Array<Record<string, unknown>>>(sql, p);

  async function snapshot(): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const t of WATCHED) out[t] = await q(`SELECT * FROM ${t} ORDER BY id`);
    return out;
  }
  const userRow = async (openid: string) => (await q('SELECT remaining_credits FROM wechat_users WHERE openid = ?', [openid]))[0];

  /** Another app on the same database, with its own settings. */
  async function variant(env: Record<string, string>): Promise<TestApp> {
    return startApp({ ...app.db.env, WECHAT_SANDBOX: 'true', DB_MIGRATE_ON_START: 'false', ...env });
  }

  beforeAll(async () => {
    // Sandbox credentials: token, EncodingAESKey and the v2 pay key; WECHAT_MESSAGE_MODE left at its default.
    app = await startAppOnFreshDb(kind, { WECHAT_SANDBOX: 'true', INTERNAL_API_SECRET: SECRET });
    const w = app.config.wechat;
    keys = { token: w.token, appId: w.appId, encodingAesKey: w.encodingAesKey };
  });

  afterAll(async () => {
    await app?.close();
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await expectInvariants((sql) => q(sql));
  });

  describe('item 4: message mode and the replay guard of every push', () => {
    it('an encrypted push records its nonce; its query re-sent without encrypt_type with a plaintext body is 403 and changes nothing', async () => {
      const real = uid('oSafe');
      const push = signedPush(keys, 'safe', eventXml(real, 'subscribe'));
      expect((await post(app, push)).status).toBe(200);
      expect(
        await q('SELECT nonce FROM wechat_callback_nonces WHERE timestamp = ? AND nonce = ?', [
          Number(push.query.get('timestamp')),
          push.query.get('nonce'),
        ]),
      ).toHaveLength(1);

      const before = await snapshot();
      const attacker = uid('oDowngrade');
      const res = await post(app, downgraded(push, eventXml(attacker, 'subscribe')));
      expect({ status: res.status, body: JSON.parse(res.text) }).toEqual({ status: 403, body: VERIFY_FAILED });
      expect(await userRow(attacker)).toBeUndefined();
      expect(await snapshot()).toEqual(before);

      // WeChat's own retry of the encrypted push is still a retry.
      expect((await post(app, push)).status).toBe(200);
    });

    it('a compatible push records its nonce too', async () => {
      const push = signedPush(keys, 'compatible', eventXml(uid('oCompat'), 'subscribe'));
      expect((await post(app, push)).status).toBe(200);
      expect(await q('SELECT nonce FROM wechat_callback_nonces WHERE nonce = ?', [push.query.get('nonce')])).toHaveLength(1);
      const res = await post(app, downgraded(push, eventXml(uid('oDowngrade'), 'subscribe')));
      expect(res.status).toBe(403);
    });

    it.each(['safe', 'compatible'])(
      'WECHAT_MESSAGE_MODE=%s: a correctly signed plaintext push is 403 and changes nothing; encrypted pushes are served',
      async (mode) => {
        const strict = await variant({ WECHAT_MESSAGE_MODE: mode });
        try {
          const before = await snapshot();
          const openid = uid('oPlain');
          const res = await post(strict, signedPush(keys, 'plaintext', eventXml(openid, 'subscribe')));
          expect({ status: res.status, body: JSON.parse(res.text) }).toEqual({ status: 403, body: VERIFY_FAILED });
          expect(await snapshot()).toEqual(before);

          const encrypted = uid('oEnc');
          expect((await post(strict, signedPush(keys, mode as 'safe' | 'compatible', eventXml(encrypted, 'subscribe')))).status).toBe(200);
          expect(await userRow(encrypted)).toEqual({ remaining_credits: expect.anything() });
        } finally {
          await strict.close();
        }
      },
    );

    it('compatible and safe mode need WECHAT_ENCODING_AES_KEY (the config refuses to start)', () => {
      const env = baseEnv(1, { WECHAT_TOKEN: 'tok', WECHAT_APPID: 'wx0123456789abcdef', WECHAT_MESSAGE_MODE: 'safe' });
      expect(() => loadConfig(env, { cwd: env.DATA_DIR })).toThrow(ConfigError);
      expect(() => loadConfig({ ...env, WECHAT_MESSAGE_MODE: 'sometimes' }, { cwd: env.DATA_DIR })).toThrow(ConfigError);
      expect(loadConfig({ ...env, WECHAT_MESSAGE_MODE: 'plaintext' }, { cwd: env.DATA_DIR }).inbound.messageMode).toBe('plaintext');
    });
  });

  describe('item 5: replay-guard retention follows CALLBACK_MAX_SKEW_SECONDS', () => {
    it('with skew 3600, a signed query replayed with another body 16 minutes later is 403', async () => {
      const wide = await variant({ CALLBACK_MAX_SKEW_SECONDS: '3600' });
      const clock = wide.app.get<Clock, SandboxClock>(Clock);
      try {
        const first = signedPush(keys, 'plaintext', eventXml(uid('oFirst'), 'subscribe'));
        expect((await post(wide, first)).status).toBe(200);
        clock.shift(16 * 60 * 1000); // past the old fixed 15 minutes, and past the purge spacing
        const thief = uid('oLate');
        const replay = signedPush(keys, 'plaintext', eventXml(thief, 'subscribe'));
        for (const k of ['signature', 'timestamp', 'nonce']) replay.query.set(k, first.query.get(k)!);
        const res = await post(wide, replay);
        expect({ status: res.status, body: JSON.parse(res.text) }).toEqual({ status: 403, body: VERIFY_FAILED });
        expect(await userRow(thief)).toBeUndefined();
      } finally {
        clock.shift(-16 * 60 * 1000);
        await wide.close();
      }
    });
  });

  describe('item 6: callback URLs refuse before parsing', () => {
    it('a signed push over CALLBACK_BODY_LIMIT (16 KB) is 413 without being parsed', async () => {
      const parse = jest.spyOn(xml, 'parseWechatXml');
      const openid = uid('oBig');
      const big = signedPush(keys, 'plaintext', eventXml(openid, 'subscribe', undefined, { Padding: 'x'.repeat(20 * 1024) }));
      const res = await post(app, big);
      expect({ status: res.status, body: JSON.parse(res.text) }).toEqual({ status: 413, body: { detail: '请求体过大' } });
      expect(parse).not.toHaveBeenCalled();
      expect(await userRow(openid)).toBeUndefined();
    });

    it('an encrypt_type=aes push without a valid query signature is 403 before its body is parsed', async () => {
      const parse = jest.spyOn(xml, 'parseWechatXml');
      const push = signedPush(keys, 'safe', withExtraFields(eventXml(uid('oUnsigned'), 'subscribe'), 800));
      push.query.set('signature', 'f'.repeat(40));
      const res = await post(app, push);
      expect({ status: res.status, body: JSON.parse(res.text) }).toEqual({ status: 403, body: VERIFY_FAILED });
      expect(parse).not.toHaveBeenCalled();
    });

    it('a signed push with more than CALLBACK_MAX_XML_FIELDS (64) elements is 400 and changes nothing', async () => {
      const before = await snapshot();
      const openid = uid('oFields');
      const res = await post(app, signedPush(keys, 'plaintext', withExtraFields(eventXml(openid, 'subscribe'), 100)));
      expect({ status: res.status, body: JSON.parse(res.text) }).toEqual({
        status: 400,
        body: { detail: 'body: more than 64 XML elements' },
      });
      expect(await snapshot()).toEqual(before);
    });

    it('pay notify: a body over the cap is 413; a v2 notification with too many fields is FAIL before its sign is checked', async () => {
      const before = await snapshot();
      const facts = { orderNo: uid('ORDX'), totalFen: 1, openid: uid('oPayer'), transactionId: uid('42') };
      const padded = v2Notification(app.config, facts, { attach: 'x'.repeat(20 * 1024) });
      expect((await sendNotification(app, padded)).status).toBe(413);
      // Correctly signed (the extra fields are signed too): refused on shape, never verified or applied.
      const extra = Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`coupon_id_${i}`, 'c']));
      const wide = await sendNotification(app, v2Notification(app.config, facts, extra));
      expect(wide.status).toBe(200);
      expect(wide.text).toContain('<return_code><![CDATA[FAIL]]></return_code>');
      expect(wide.text).toContain('SIGN_ERROR'); // refused as unverifiable, not looked up as an order
      expect(await snapshot()).toEqual(before);
    });
  });

  describe('item 7: JSON nesting limit at the body parser', () => {
    it('a deeply nested body on the unauthenticated QR endpoint is 400 with detail, one warn line, no stack', async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn');
      const error = jest.spyOn(Logger.prototype, 'error');
      const body = `{"client_id":${'['.repeat(20000)}${']'.repeat(20000)}}`;
      const res = await fetch(`${app.url}/api/v1/auth/wechat/qrcode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ detail: 'body: JSON nested deeper than 32 levels' });
      expect(error).not.toHaveBeenCalled();
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).not.toMatch(/\n\s+at /);
    });

    it('33 levels are refused, 32 reach the route (which judges the content)', async () => {
      const nested = (n: number) => `{"client_id":"PC_1_abc","x":${'['.repeat(n - 1)}${']'.repeat(n - 1)}}`;
      const deep = await fetch(`${app.url}/api/v1/auth/wechat/qrcode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: nested(33),
      });
      expect(deep.status).toBe(400);
      expect(await deep.json()).toEqual({ detail: 'body: JSON nested deeper than 32 levels' });
      const ok = await fetch(`${app.url}/api/v1/auth/wechat/qrcode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: nested(32),
      });
      expect(((await ok.json()) as { detail?: string }).detail ?? '').not.toContain('nested');
    });
  });

  describe('item 8: the internal HMAC covers exactly the bytes received', () => {
    const target = '/api/v1/internal/user/create-or-update';
    const headersFor = (body: string, contentType: string) => {
      const ts = String(Math.floor(Date.now() / 1000));
      return {
        'content-type': contentType,
        'x-internal-timestamp': ts,
        'x-internal-signature': internalSignature(SECRET, 'POST', target, ts, body),
      };
    };

    it('signed over an empty body but sent form-encoded with openid=…&source=subscribe → 415, no user created', async () => {
      const openid = uid('oForm');
      const before = await snapshot();
      const res = await fetch(app.url + target, {
        method: 'POST',
        headers: headersFor('', 'application/x-www-form-urlencoded'),
        body: `openid=${openid}&source=subscribe`,
      });
      expect(res.status).toBe(415);
      expect(await res.json()).toEqual({ detail: expect.stringContaining('application/json') });
      expect(await userRow(openid)).toBeUndefined();
      expect(await snapshot()).toEqual(before);
    });

    it('a JSON body under another content type or a Content-Encoding is 415; plain JSON still works', async () => {
      const openid = uid('oJson');
      const body = JSON.stringify({ openid, source: 'subscribe' });
      for (const type of ['text/plain', 'application/vnd.api+json']) {
        const res = await fetch(app.url + target, { method: 'POST', headers: headersFor(body, type), body });
        expect(res.status).toBe(415);
      }
      const gz = await fetch(app.url + target, {
        method: 'POST',
        headers: { ...headersFor(body, 'application/json'), 'content-encoding': 'gzip' },
        body: gzipSync(body),
      });
      expect(gz.status).toBe(415);
      expect(await userRow(openid)).toBeUndefined();

      const ok = await fetch(app.url + target, { method: 'POST', headers: headersFor(body, 'application/json; charset=utf-8'), body });
      expect(ok.status).toBe(200);
      expect(await userRow(openid)).toBeDefined();
    });
  });
});
