import { randomBytes } from 'node:crypto';
import type { Connection } from 'mysql2/promise';
import { randomNonce } from '../../src/wechat/nonce';
import { v3ResponseMessage, v3SignRsa } from '../../src/wechat/pay/crypto/v3-sign';
import { sha1Signature } from '../../src/wechat/signature';
import { expectInvariants } from '../setup/invariants';
import { mysqlAdmin, mysqlEnabled } from '../setup/mysql';
import { TestDatabase } from '../setup/test-app';
import { sandboxPlatformKey, v2Notification, v3Notification } from '../support/pay-notifications';
import { eventXml, signedPush, TEST_KEYS, VERIFY_PATH, wechatEnv } from '../support/wechat-push';
import { Answer, isRunning, queryOf, rawPost, rssMb, Service, spawnService, sql, uid } from './resilience-support';

/**
 * docs/quality.md "Bad input gets a clear answer and changes nothing", against the built service as
 * its own process (its memory is read from /proc): XML bombs, XXE, truncated XML, non-XML, empty
 * and 10 MB bodies on the push and notify URLs (v2 and v3), a brief re-check of the 403 rows, and
 * a bounded fuzz of thousands of generated bodies. The wider 403/400 tables live in
 * wechat-callback/callback-push.e2e-spec.ts and payment/payments.e2e-spec.ts; this suite adds the process-level view:
 * answered quickly, nothing changed, memory flat, process up.
 */

const NOTIFY = '/api/v1/payment/notify';
/** A rejection within 1 s (docs/quality.md "How faults are produced"). */
const REJECT_MS = 1000;
/** RSS may move with GC and JIT; a leak of the bodies themselves would be tens of MB. */
const RSS_TOLERANCE_MB = 40;

const BILLION_LAUGHS =
  '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
  Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('') +
  ']><xml><ToUserName>&lol9;</ToUserName><FromUserName>oBomb</FromUserName><MsgType>event</MsgType></xml>';
const XXE =
  '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><FromUserName>&xxe;</FromUserName><MsgType>event</MsgType></xml>';
const XXE_PARAM =
  '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY % p SYSTEM "http://127.0.0.1:1/evil.dtd"> %p;]><xml><return_code>SUCCESS</return_code></xml>';
const LOWER_DOCTYPE = '<!doctype xml [<!entity a "b">]><xml><FromUserName>&a;</FromUserName></xml>';

/** Deterministic pseudo-random numbers (mulberry32): a failing fuzz run can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

(mysqlEnabled() ? describe : describe.skip)('resilience: bad input [mysql]', () => {
  let db: TestDatabase;
  let v2: Service;
  let v3: Service;
  let conn: Connection;

  beforeAll(async () => {
    db = await TestDatabase.create('mysql');
    // The sandbox only provides the merchant keys (WECHAT_SANDBOX=true outside production).
    // A heap cap makes "memory flat" measurable: without it V8 lets old space grow to several
    // times the live heap before compacting (docs/performance.md), so RSS says little; with it a
    // leak shows as growth — or as an out-of-memory crash, which "process up" catches.
    const env = { ...db.env, ...wechatEnv(), WECHAT_SANDBOX: 'true', NODE_OPTIONS: '--max-old-space-size=128' };
    [v2, v3] = await Promise.all([spawnService({ ...env, WECHAT_PAY_VERSION: 'v2' }), spawnService({ ...env, WECHAT_PAY_VERSION: 'v3' })]);
    conn = await mysqlAdmin(db.mysqlName);
  }, 60_000);

  afterAll(async () => {
    await conn?.end();
    await v2?.app.stop();
    await v3?.app.stop();
    await db?.drop();
  });

  /** Row counts and states of everything a callback could change. */
  async function snapshot(): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const t of [
      'wechat_users',
      'credit_ledger',
      'payment_records',
      'wechat_callback_nonces',
      'wechat_qrcode_bindings',
      'payment_anomalies',
    ]) {
      out[t] = (await sql(conn, `SELECT COUNT(*) AS n FROM ${t}`))[0].n;
    }
    out.orders = await sql(conn, 'SELECT status, COUNT(*) AS n FROM payment_orders GROUP BY status ORDER BY status');
    return out;
  }

  function plaintextPath(): string {
    return signedPush(TEST_KEYS, 'plaintext', '<xml/>').path();
  }
  /** A safe-mode query: the Encrypt element has to be parsed before msg_signature can be checked. */
  function safePath(): string {
    const ts = String(Math.floor(Date.now() / 1000));
    const nonce = randomNonce(10);
    const q = new URLSearchParams({
      signature: sha1Signature(TEST_KEYS.token, ts, nonce),
      timestamp: ts,
      nonce,
      encrypt_type: 'aes',
      msg_signature: 'f'.repeat(40),
    });
    return `${VERIFY_PATH}?${q.toString()}`;
  }

  it('XML bombs, XXE, truncated, non-XML, empty and 10 MB bodies → 400 / 413 / FAIL within 1 s, nothing changed, memory flat, process up', async () => {
    const before = await snapshot();
    // Warm the paths first so the memory reference includes what the first requests allocate.
    await rawPost(v2.url, plaintextPath(), Buffer.from('x'));
    await rawPost(v2.url, NOTIFY, Buffer.from('x'));
    const rss0 = rssMb(v2.app.proc.pid!);

    const big = Buffer.alloc(10 * 1024 * 1024, 'a');
    const justOver = Buffer.from(`<xml><FromUserName>o</FromUserName><Pad>${'a'.repeat(70 * 1024)}</Pad></xml>`);
    const truncated = Buffer.from(eventXml(uid('oTrunc'), 'subscribe').slice(0, 70));
    const malformed: Array<[string, Buffer]> = [
      ['billion laughs', Buffer.from(BILLION_LAUGHS)],
      ['XXE', Buffer.from(XXE)],
      ['XXE parameter entity', Buffer.from(XXE_PARAM)],
      ['lower-case doctype', Buffer.from(LOWER_DOCTYPE)],
      ['truncated XML', truncated],
      ['non-XML text', Buffer.from('hello, world')],
      ['JSON', Buffer.from('{"FromUserName":"o","MsgType":"event"}')],
      ['binary', randomBytes(512)],
      ['empty', Buffer.alloc(0)],
    ];
    type Case = {
      name: string;
      url: string;
      path: string;
      body: Buffer;
      chunked?: boolean;
      ok: (a: Answer) => boolean;
      headers?: Record<string, string>;
    };
    const cases: Case[] = [];
    const isDetail = (status: number) => (a: Answer) => {
      try {
        return a.status === status && typeof JSON.parse(a.text).detail === 'string';
      } catch {
        return false;
      }
    };
    const v2Fail = (a: Answer) => a.status === 200 && a.text.includes('<return_code><![CDATA[FAIL]]></return_code>');
    const v3SignError = (a: Answer) => a.status === 401 && a.text === JSON.stringify({ code: 'FAIL', message: 'SIGN_ERROR' });
    for (const [name, body] of malformed) {
      cases.push({ name: `push plaintext: ${name}`, url: v2.url, path: plaintextPath(), body, ok: isDetail(400) });
      cases.push({ name: `push safe: ${name}`, url: v2.url, path: safePath(), body, ok: isDetail(400) });
      cases.push({ name: `notify v2: ${name}`, url: v2.url, path: NOTIFY, body, ok: v2Fail });
      cases.push({
        name: `notify v3: ${name}`,
        url: v3.url,
        path: NOTIFY,
        body,
        ok: v3SignError,
        headers: { 'content-type': 'application/json' },
      });
    }
    for (const [name, body, chunked] of [
      ['70 KB', justOver, false],
      ['10 MB', big, false],
      ['10 MB chunked', big, true],
    ] as Array<[string, Buffer, boolean]>) {
      cases.push({ name: `push: ${name}`, url: v2.url, path: plaintextPath(), body, chunked, ok: isDetail(413) });
      cases.push({ name: `notify v2: ${name}`, url: v2.url, path: NOTIFY, body, chunked, ok: isDetail(413) });
      cases.push({ name: `notify v3: ${name}`, url: v3.url, path: NOTIFY, body, chunked, ok: isDetail(413) });
    }
    // Brief re-check of the 403 rows (the full table is in wechat-callback/callback-push.e2e-spec.ts).
    const xml = eventXml(uid('o403'), 'subscribe');
    const forged = signedPush(TEST_KEYS, 'plaintext', xml);
    forged.query.set('signature', '0'.repeat(40));
    const stale = signedPush(TEST_KEYS, 'plaintext', xml, { timestamp: Math.floor(Date.now() / 1000) - 400 });
    const badMsgSig = signedPush(TEST_KEYS, 'safe', xml);
    badMsgSig.query.set('msg_signature', 'a'.repeat(40));
    const otherAppid = signedPush(TEST_KEYS, 'safe', xml, { encryptAppId: 'wxffffffffffffffff' });
    for (const [name, p] of [
      ['forged signature', forged],
      ['stale timestamp', stale],
      ['wrong msg_signature', badMsgSig],
      ['another appid inside the ciphertext', otherAppid],
    ] as const) {
      cases.push({
        name: `push: ${name}`,
        url: v2.url,
        path: p.path(),
        body: Buffer.from(p.body),
        ok: (a) => a.status === 403 && a.text === JSON.stringify({ detail: '验证失败' }),
      });
    }

    // Four rounds: the first one reaches the working set (parser buffers, heap), the others must
    // not keep growing it — bodies that were kept, or a parser expanding entities, would.
    const rssAfterRound: number[] = [];
    for (let round = 0; round < 4; round++) {
      for (const c of cases) {
        const a = await rawPost(c.url, c.path, c.body, { chunked: c.chunked, headers: c.headers });
        expect({ name: c.name, ok: c.ok(a), status: a.status, text: a.text.slice(0, 120) }).toEqual({
          name: c.name,
          ok: true,
          status: a.status,
          text: a.text.slice(0, 120),
        });
        expect({ name: c.name, quick: a.ms < REJECT_MS }).toEqual({ name: c.name, quick: true });
      }
      rssAfterRound.push(rssMb(v2.app.proc.pid!));
    }
    // A replay of a plaintext push (same signature, another body) is 403; WeChat's own retry is not.
    const first = signedPush(TEST_KEYS, 'plaintext', eventXml(uid('oFirst'), 'unsubscribe'));
    expect((await rawPost(v2.url, first.path(), Buffer.from(first.body))).status).toBe(200);
    const afterFirst = await snapshot();
    const replay = await rawPost(v2.url, first.path(), Buffer.from(eventXml(uid('oThief'), 'subscribe')));
    expect(replay.status).toBe(403);
    expect(await snapshot()).toEqual(afterFirst);

    for (const s of [v2, v3]) {
      expect(isRunning(s.app)).toBe(true);
      expect((await fetch(`${s.url}/api/v1/health`)).status).toBe(200);
    }
    console.log(`bad bodies: RSS before ${Math.round(rss0)} MB, after each round ${rssAfterRound.map(Math.round).join(' / ')} MB`);
    const afterWarmUp = Math.round(Math.max(...rssAfterRound.slice(1)) - rssAfterRound[0]);
    expect({ afterWarmUp, flat: afterWarmUp < RSS_TOLERANCE_MB }).toEqual({ afterWarmUp, flat: true });
    const overall = Math.round(rssAfterRound[3] - rss0);
    expect({ overall, bounded: overall < 3 * RSS_TOLERANCE_MB }).toEqual({ overall, bounded: true });
    // Nothing changed but the one unsubscribe push's nonce (and its no-op on an unknown user).
    expect({ ...afterFirst, wechat_callback_nonces: before.wechat_callback_nonces }).toEqual(before);
  });

  // Found by the fuzz below: sax accepts U+0000 inside CDATA, the push is applied (user created,
  // credits granted), then the passive reply cannot be built (cdata() refuses the character) and
  // the answer is 503 — on every retry. XML 1.0 forbids the character: the spec's answer is 400,
  // nothing changed. Reported to the owner of src/wechat/xml.ts; `failing` until it is fixed,
  // then this becomes a plain `it`.
  it('a signed push with U+0000 in a CDATA field is 400 and changes nothing', async () => {
    const openid = uid('oNul');
    const p = signedPush(
      TEST_KEYS,
      'plaintext',
      eventXml(openid, 'subscribe').replace('<ToUserName><![CDATA[', '<ToUserName><![CDATA[\u0000'),
    );
    const a = await rawPost(v2.url, p.path(), Buffer.from(p.body));
    const users = await sql(conn, 'SELECT COUNT(*) AS n FROM wechat_users WHERE openid = ?', [openid]);
    expect({ status: a.status, users: Number(users[0].n) }).toEqual({ status: 400, users: 0 });
  });

  it('fuzz: thousands of generated bodies on push and notify → no 5xx but a deliberate 503, process up, memory flat, invariants hold', async () => {
    const rand = prng(Number(process.env.FUZZ_SEED ?? 20241122));
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
    const int = (n: number) => Math.floor(rand() * n);
    const platformKey = sandboxPlatformKey(v3.config);

    const pushXml = () =>
      eventXml(
        `o${uid('Fz')}`,
        pick(['subscribe', 'unsubscribe', 'SCAN', 'CLICK']),
        pick([undefined, 'qrscene_bind_x', 'bind_nope', '123', '']),
      );
    const notifyXml = () =>
      v2Notification(v2.config, {
        orderNo: `ORD${uid('FZ')}`.toUpperCase(),
        totalFen: 1 + int(100000),
        openid: uid('oFz'),
        transactionId: uid('4200'),
      }).body;
    const v3Json = () =>
      v3Notification(v3.config, { orderNo: `ORD${uid('FZ')}`.toUpperCase(), totalFen: 990, openid: uid('oFz'), transactionId: uid('4200') })
        .body;

    /** Mutations of a valid document: flips, cuts, splices, duplications, injections. */
    function mutate(src: Buffer): Buffer {
      let b = Buffer.from(src);
      for (let k = 1 + int(4); k > 0; k--) {
        const at = int(b.length + 1);
        switch (int(8)) {
          case 0:
            if (b.length) b[int(b.length)] = int(256);
            break;
          case 1:
            b = b.subarray(0, at);
            break;
          case 2:
            b = Buffer.concat([b.subarray(0, at), randomBytes(1 + int(16)), b.subarray(at)]);
            break;
          case 3: {
            const from = int(b.length + 1);
            b = Buffer.concat([b.subarray(0, at), b.subarray(from, from + int(200)), b.subarray(at)]);
            break;
          }
          case 4:
            b = Buffer.concat([
              b.subarray(0, at),
              Buffer.from(
                pick([
                  '<!DOCTYPE x>',
                  '<!ENTITY a "b">',
                  '&a;',
                  '&#0;',
                  '&#x110000;',
                  ']]>',
                  '<![CDATA[',
                  '<?pi x?>',
                  '<!-- c -->',
                  '\u0000',
                  '<xml>',
                  '</xml>',
                  '<a b="c"/>',
                ]),
              ),
              b.subarray(at),
            ]);
            break;
          case 5:
            b = Buffer.concat([b.subarray(0, at), b.subarray(at + int(32))]);
            break;
          case 6:
            b = Buffer.from(
              b.toString('latin1').replace(/<(\w+)>/, (m) => (rand() < 0.5 ? m.toUpperCase() : `<${'x'.repeat(1 + int(300))}>`)),
              'latin1',
            );
            break;
          default:
            b = Buffer.concat([b, b.subarray(0, int(b.length + 1))]);
        }
      }
      return b;
    }

    /** Bodies no mutation would reach: shapes, sizes, encodings. */
    function special(): Buffer {
      switch (int(14)) {
        case 0:
          return randomBytes(int(4096));
        case 1:
          return Buffer.from(`<xml>${'<a>'.repeat(5000)}x${'</a>'.repeat(5000)}</xml>`);
        case 2:
          return Buffer.from(
            `<xml>${Array.from({ length: 3000 }, (_, i) => `<F${i}>v</F${i}>`).join('')}<FromUserName>oMany</FromUserName><MsgType>event</MsgType></xml>`,
          );
        case 3:
          return Buffer.from(`<xml><FromUserName><![CDATA[${'o'.repeat(60 * 1024)}]]></FromUserName><MsgType>event</MsgType></xml>`);
        case 4:
          return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(pushXml(), 'utf16le')]);
        case 5:
          return Buffer.from(`<?xml version="1.0" encoding="GBK"?>${pushXml()}`.replace('subscribe', '订阅'), 'latin1');
        case 6:
          return Buffer.from([
            0x3c, 0x78, 0x6d, 0x6c, 0x3e, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x28, 0x8c, 0xbc, 0x3c, 0x2f, 0x78, 0x6d, 0x6c,
            0x3e,
          ]);
        case 7:
          return Buffer.from(
            '<xml><__proto__><![CDATA[x]]></__proto__><constructor>y</constructor><FromUserName>oProto</FromUserName><MsgType>event</MsgType></xml>',
          );
        case 8:
          return Buffer.from(
            '{"__proto__":{"polluted":1},"constructor":{"prototype":{"p":1}},"resource":{"algorithm":"AEAD_AES_256_GCM"}}',
          );
        case 9:
          return Buffer.from(`${'['.repeat(20000)}${']'.repeat(20000)}`);
        case 10:
          return Buffer.from(
            `{"event_type":"TRANSACTION.SUCCESS","resource":{"algorithm":"AEAD_AES_256_GCM","ciphertext":"${randomBytes(int(2000)).toString('base64')}","nonce":"${'n'.repeat(int(64))}","associated_data":"transaction"},"amount":1e309}`,
          );
        case 11:
          return Buffer.from(`<xml>${'<x a="1" b="2" c="3"/>'.repeat(2000)}</xml>`);
        case 12:
          return Buffer.from(`\uFEFF   \n\t${pushXml()}\u0000garbage`);
        default:
          return Buffer.from(
            `<xml><FromUserName>${'\u200b\u202e😀'.repeat(200)}</FromUserName><MsgType>event</MsgType><Event>subscribe</Event></xml>`,
          );
      }
    }

    function pushQuery(): string {
      const r = rand();
      if (r < 0.6) return plaintextPath();
      if (r < 0.75) return safePath();
      const junk = [
        `signature=${'a'.repeat(int(5000))}&timestamp=${int(2 ** 31)}&nonce=${randomNonce(8)}`,
        'signature=a&signature=b&timestamp=1&timestamp=2&nonce=x',
        `timestamp=${encodeURIComponent('1e9')}&nonce=${encodeURIComponent('😀')}&signature=%00%ff`,
        `encrypt_type=AES&msg_signature=${randomBytes(20).toString('hex')}&timestamp=${Math.floor(Date.now() / 1000)}&nonce=${'n'.repeat(65)}`,
        '',
      ];
      return `${VERIFY_PATH}?${pick(junk)}`;
    }

    type Target = { name: 'push' | 'notify v2' | 'notify v3'; url: string; path: string; body: Buffer; headers: Record<string, string> };
    function next(): Target {
      const r = rand();
      const body = rand() < 0.55 ? mutate(Buffer.from(r < 0.45 ? pushXml() : r < 0.75 ? notifyXml() : v3Json())) : special();
      const contentType = pick([
        'text/xml',
        'application/xml',
        'application/json',
        'application/x-www-form-urlencoded',
        'text/plain; charset=gbk',
        'multipart/form-data; boundary=x',
      ]);
      if (r < 0.45) return { name: 'push', url: v2.url, path: pushQuery(), body, headers: { 'content-type': contentType } };
      if (r < 0.75) return { name: 'notify v2', url: v2.url, path: NOTIFY, body, headers: { 'content-type': contentType } };
      const headers: Record<string, string> = { 'content-type': contentType };
      const signed = rand() < 0.5;
      if (signed) {
        // Correctly signed by the platform key: the body itself has to be refused.
        const ts = String(Math.floor(Date.now() / 1000));
        const nonce = randomNonce(32);
        Object.assign(headers, {
          'wechatpay-timestamp': ts,
          'wechatpay-nonce': nonce,
          'wechatpay-serial': v3.config.pay.publicKeyId,
          'wechatpay-signature': v3SignRsa(v3ResponseMessage(ts, nonce, body), platformKey),
        });
      } else if (rand() < 0.5) {
        Object.assign(headers, {
          'wechatpay-timestamp': String(int(2 ** 32)),
          'wechatpay-nonce': randomNonce(8),
          'wechatpay-serial': randomNonce(20),
          'wechatpay-signature': pick(['WECHATPAY/SIGNTEST/x', randomBytes(256).toString('base64'), '']),
        });
      }
      return { name: 'notify v3', url: v3.url, path: NOTIFY, body, headers };
    }

    const allowed: Record<Target['name'], number[]> = {
      push: [200, 400, 403, 413, 503],
      'notify v2': [200, 413],
      'notify v3': [204, 400, 401, 413],
    };
    const seen: Record<string, number> = {};
    const unexpected: string[] = [];
    const deliberate: string[] = [];
    const rssOf = () => [rssMb(v2.app.proc.pid!), rssMb(v3.app.proc.pid!)];
    const rssStart = rssOf();
    const before = await snapshot();
    const MAX_BODIES = 10_000;
    const started = Date.now();
    const deadline = started + 15_000;
    // Memory is judged after a warm-up third: the working set of 16 concurrent bodies up to 64 KB
    // (heap, JIT) is reached early; what matters is that it stops growing (a leak keeps going).
    let rssWarm: number[] | null = null;
    const sampler = setInterval(() => {
      if (!rssWarm && Date.now() - started >= 5000) rssWarm = rssOf();
    }, 100);
    let sent = 0;
    let slowest = 0;
    async function worker(): Promise<void> {
      while (sent < MAX_BODIES && Date.now() < deadline) {
        sent++;
        const t = next();
        const a = await rawPost(t.url, t.path, t.body, { headers: t.headers, timeoutMs: 5000 }).catch((e: Error) => ({
          status: -1,
          text: e.message,
          ms: 5000,
        }));
        slowest = Math.max(slowest, a.ms);
        const key = `${t.name} ${a.status}`;
        seen[key] = (seen[key] ?? 0) + 1;
        const wellFormed =
          t.name !== 'notify v2' || a.status !== 200 || /^<xml><return_code><!\[CDATA\[(SUCCESS|FAIL)\]\]><\/return_code>/.test(a.text);
        if (a.status === 503 && deliberate.length < 5)
          deliberate.push(`${t.path.slice(0, 60)} ${JSON.stringify(t.body.subarray(0, 300).toString('latin1'))}`);
        if ((!allowed[t.name].includes(a.status) || !wellFormed) && unexpected.length < 10) {
          unexpected.push(
            `${key}: ${a.text.slice(0, 160)} ← ${t.path.slice(0, 80)} ${JSON.stringify(t.body.subarray(0, 160).toString('latin1'))}`,
          );
        }
      }
    }
    await Promise.all(Array.from({ length: 16 }, () => worker())).finally(() => clearInterval(sampler));

    console.log(
      `fuzz: ${sent} bodies in ${Math.round(15 - (deadline - Date.now()) / 1000)} s, slowest answer ${slowest} ms; answers ${JSON.stringify(seen)}`,
    );
    if (deliberate.length)
      console.log(
        `503 answers (WeChat retries them):\n${deliberate.join('\n')}\n${v2.app
          .output()
          .split('\n')
          .filter((l) => l.includes('503'))
          .slice(0, 5)
          .join('\n')}`,
      );
    expect(sent).toBeGreaterThan(500);
    expect(unexpected).toEqual([]);
    expect(slowest).toBeLessThan(4000);
    for (const s of [v2, v3]) {
      expect(isRunning(s.app)).toBe(true);
      expect((await fetch(`${s.url}/api/v1/health`)).status).toBe(200);
    }
    const rssEnd = rssOf();
    const warm = rssWarm ?? rssStart;
    const afterWarmUp = rssEnd.map((mb, i) => Math.round(mb - warm[i]));
    const overall = rssEnd.map((mb, i) => Math.round(mb - rssStart[i]));
    console.log(
      `fuzz RSS (v2, v3): start ${rssStart.map(Math.round).join(',')} MB, after warm-up ${warm.map(Math.round).join(',')} MB, end ${rssEnd.map(Math.round).join(',')} MB`,
    );
    expect({ afterWarmUp, flat: afterWarmUp.every((g) => g < RSS_TOLERANCE_MB) }).toEqual({ afterWarmUp, flat: true });
    expect({ overall, bounded: overall.every((g) => g < 3 * RSS_TOLERANCE_MB) }).toEqual({ overall, bounded: true });
    // Notifications were all refused: no order, payment or credit moved (users may have been
    // created by well-formed signed pushes — that is their job).
    const after = await snapshot();
    expect({ orders: after.orders, payment_records: after.payment_records }).toEqual({
      orders: before.orders,
      payment_records: before.payment_records,
    });
    await expectInvariants(queryOf(conn));
  });
});
