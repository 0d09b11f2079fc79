import { spawn } from 'node:child_process';
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { join } from 'node:path';
import vm from 'node:vm';
import { Test } from '@nestjs/testing';
import { CommonModule } from '../src/common/common.module';
import { AppConfig } from '../src/config/app-config';
import { ConfigModule } from '../src/config/config.module';
import { loadConfig } from '../src/config/load-config';
import { SandboxModule } from '../src/sandbox/sandbox.module';
import { SandboxStore } from '../src/sandbox/core/sandbox.store';
import { ensureSandboxKeys, sandboxKeyPaths } from '../src/sandbox/pay/sandbox-keys';
import { WechatMessageCrypto } from '../src/wechat/message-crypto';
import { randomNonce } from '../src/wechat/nonce';
import { aesGcmDecrypt } from '../src/wechat/pay/aes-gcm';
import { v2Sign, V2SignType, v2Verify } from '../src/wechat/pay/v2-sign';
import { buildV3Authorization, jsapiPaySign } from '../src/wechat/pay/v3-sign';
import { V3SignatureVerifier } from '../src/wechat/pay/v3-verifier';
import { sha1Signature } from '../src/wechat/signature';
import { buildXml, parseWechatXml } from '../src/wechat/xml';
import { eventually, ROOT, startApp, tempDir, TestApp } from './setup/test-app';

// ---------------------------------------------------------------------------------------------
// A local HTTP receiver playing the app's callback endpoints (pushes and pay notifications).

interface Received {
  method: string;
  path: string;
  query: URLSearchParams;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

const VERIFY_PATH = '/api/v1/auth/wechat/verify';
const SUCCESS_XML = '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>';
const FAIL_XML = '<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[not yet]]></return_msg></xml>';

class Receiver {
  private server!: Server;
  url = '';
  received: Received[] = [];
  handler: (r: Received) => Answer | Promise<Answer> = Receiver.defaultHandler;

  static defaultHandler(this: void, r: Received): Answer {
    if (r.path === '/notify/v2') return { status: 200, headers: { 'Content-Type': 'text/xml' }, body: SUCCESS_XML };
    if (r.path === '/notify/v3') return { status: 204 };
    return { status: 200, body: 'success' };
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://x');
        const r: Received = {
          method: req.method ?? '',
          path: url.pathname,
          query: url.searchParams,
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks),
        };
        this.received.push(r);
        void Promise.resolve(this.handler(r)).then((answer) => {
          res.writeHead(answer.status, answer.headers ?? {});
          res.end(answer.body ?? '');
        });
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  reset(): void {
    this.received = [];
    this.handler = Receiver.defaultHandler;
  }

  on(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  async waitFor(path: string, count: number, timeoutMs = 10_000): Promise<Received[]> {
    await eventually(() => this.on(path).length >= count, timeoutMs, 20);
    return this.on(path);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

// ---------------------------------------------------------------------------------------------

const receiver = new Receiver();
let app: TestApp;
let cfg: AppConfig;
let merchantKey: string;
let platformPublicPem: string;

const OPENID = 'oSBXtestpayer000000000000001';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nowSeconds = () => Math.floor(Date.now() / 1000);
const sb = (path: string) => `${app.url}/sandbox${path}`;

async function getJson(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

async function postJson(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function accessToken(): Promise<string> {
  const q = new URLSearchParams({ grant_type: 'client_credential', appid: cfg.wechat.appId, secret: cfg.wechat.secret });
  const { body } = await getJson(sb(`/api/cgi-bin/token?${q.toString()}`));
  expect(typeof body.access_token).toBe('string');
  return body.access_token as string;
}

async function createQr(token: string, body: unknown): Promise<any> {
  return (await postJson(sb(`/api/cgi-bin/qrcode/create?access_token=${encodeURIComponent(token)}`), body)).body;
}

// --- WeChat Pay v2, played from the merchant side with the pure protocol code ---

type Fields = Record<string, string | number>;

async function v2Call(endpoint: string, fields: Fields, opts: { signType?: V2SignType; key?: string; raw?: string } = {}) {
  const params: Fields = { appid: cfg.wechat.appId, mch_id: cfg.pay.mchId, nonce_str: randomNonce(32), ...fields };
  if (opts.signType === 'HMAC-SHA256') params.sign_type = 'HMAC-SHA256';
  params.sign = v2Sign(params, opts.key ?? cfg.pay.apiKey, opts.signType ?? 'MD5');
  const res = await fetch(sb(`/pay/pay/${endpoint}`), {
    method: 'POST',
    headers: { 'Content-Type': 'text/xml' },
    body: opts.raw ?? buildXml(params),
  });
  const text = await res.text();
  return { status: res.status, text, fields: await parseWechatXml(text) };
}

function newOutTradeNo(): string {
  return `ORD${Date.now()}${randomNonce(6).toUpperCase()}`;
}

async function placeV2(overrides: Fields = {}, signType: V2SignType = 'MD5') {
  const outTradeNo = newOutTradeNo();
  const r = await v2Call(
    'unifiedorder',
    {
      body: '会员服务',
      out_trade_no: outTradeNo,
      total_fee: 2990,
      spbill_create_ip: '127.0.0.1',
      notify_url: `${receiver.url}/notify/v2`,
      trade_type: 'JSAPI',
      openid: OPENID,
      ...overrides,
    },
    { signType },
  );
  expect(r.fields).toMatchObject({ return_code: 'SUCCESS', result_code: 'SUCCESS' });
  return { outTradeNo, prepayId: r.fields.prepay_id, response: r };
}

// --- WeChat Pay v3 ---

interface V3Options {
  signPath?: string;
  timestamp?: number;
  serialNo?: string;
  signedBody?: string;
  tamperSignature?: boolean;
  noAuth?: boolean;
}

async function v3Call(method: 'GET' | 'POST', path: string, body?: unknown, opts: V3Options = {}) {
  const wirePath = `/sandbox/pay${path}`;
  const bodyText = body === undefined ? '' : JSON.stringify(body);
  let auth = buildV3Authorization({
    mchid: cfg.pay.mchId,
    serialNo: opts.serialNo ?? cfg.pay.certSerial,
    privateKey: merchantKey,
    method,
    pathWithQuery: opts.signPath ?? wirePath,
    body: opts.signedBody ?? bodyText,
    timestamp: opts.timestamp,
  });
  if (opts.tamperSignature) auth = auth.replace(/signature="(.)/, (_m, c: string) => `signature="${c === 'A' ? 'B' : 'A'}`);
  const headers: Record<string, string> = { Accept: 'application/json', 'Content-Type': 'application/json' };
  if (!opts.noAuth) headers.Authorization = auth;
  const res = await fetch(app.url + wirePath, { method, headers, body: bodyText || undefined });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text ? JSON.parse(text) : undefined };
}

/** The inline scripts of a sandbox page (they must at least compile). */
function inlineScripts(html: string): string[] {
  return [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
}

function platformVerifier(): V3SignatureVerifier {
  const v = new V3SignatureVerifier();
  v.addPublicKey(cfg.pay.publicKeyId, platformPublicPem);
  return v;
}

function verifyV3Headers(verifier: V3SignatureVerifier, headers: Headers | IncomingHttpHeaders, body: string | Buffer) {
  const get = (name: string) => (headers instanceof Headers ? headers.get(name) : (headers[name] as string | undefined)) ?? '';
  return verifier.verify({
    timestamp: get('wechatpay-timestamp'),
    nonce: get('wechatpay-nonce'),
    signature: get('wechatpay-signature'),
    serial: get('wechatpay-serial'),
    body,
    nowSeconds: nowSeconds(),
  });
}

function jsapiBody(overrides: Record<string, unknown> = {}) {
  return {
    appid: cfg.wechat.appId,
    mchid: cfg.pay.mchId,
    description: '购买额度 10张',
    out_trade_no: newOutTradeNo(),
    notify_url: `${receiver.url}/notify/v3`,
    amount: { total: 990, currency: 'CNY' },
    payer: { openid: OPENID },
    ...overrides,
  };
}

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  await receiver.start();
  app = await startApp({
    WECHAT_SANDBOX: 'true',
    DB_TYPE: 'sqlite',
    SQLITE_PATH: join(tempDir('wx-sandbox-db-'), 'app.sqlite'),
    SANDBOX_CALLBACK_BASE: receiver.url,
  });
  cfg = app.config;
  merchantKey = readFileSync(cfg.pay.privateKeyPath, 'utf8');
  platformPublicPem = readFileSync(cfg.pay.publicKeyPath, 'utf8');
});

beforeEach(async () => {
  expect((await postJson(sb('/reset'), {})).status).toBe(200);
  receiver.reset();
});

afterAll(async () => {
  await app?.close();
  await receiver.close();
});

describe('sandbox keys', () => {
  it('are created under <dataDir>/sandbox with mode 0600, and the public key file matches the platform key', () => {
    const paths = sandboxKeyPaths(cfg);
    expect(paths.merchantPrivateKey).toBe(join(cfg.dataDir, 'sandbox', 'merchant_private_key.pem'));
    expect(paths.platformPublicKey).toBe(join(cfg.dataDir, 'sandbox', 'wechatpay_public_key.pem'));
    for (const file of [
      paths.merchantPrivateKey,
      paths.platformPrivateKey,
      paths.platformPublicKey,
      paths.platformCertificate,
      paths.merchantCertificate,
    ]) {
      expect(statSync(file).mode & 0o777).toBe(0o600);
    }
    const platformPrivate = readFileSync(paths.platformPrivateKey, 'utf8');
    const derived = createPublicKey(platformPrivate).export({ type: 'spki', format: 'der' });
    expect(createPublicKey(platformPublicPem).export({ type: 'spki', format: 'der' }).equals(derived)).toBe(true);
    // Reuse: a second pass over the same folder returns the same keys and rewrites nothing.
    const before = readFileSync(paths.merchantPrivateKey, 'utf8');
    const again = ensureSandboxKeys(paths);
    expect(again.merchantPrivateKey.export({ type: 'pkcs8', format: 'pem' })).toBe(before);
    const merchantCert = new X509Certificate(readFileSync(paths.merchantCertificate, 'utf8'));
    expect(merchantCert.serialNumber.toUpperCase()).toBe(cfg.pay.certSerial);
  });

  it('concurrent processes creating the keys in one empty folder all end up with the same keys', async () => {
    const dataDir = tempDir('wx-sandbox-race-');
    // Each child transpiles the TypeScript source on the fly (no build needed) and races the others.
    const child = `
      const ts = require('typescript'); const fs = require('fs'); const crypto = require('crypto');
      require.extensions['.ts'] = (m, f) => m._compile(ts.transpileModule(fs.readFileSync(f, 'utf8'), { fileName: f, compilerOptions: {
        module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, experimentalDecorators: true, emitDecoratorMetadata: true } }).outputText, f);
      const k = require(${JSON.stringify(join(ROOT, 'src/sandbox/pay/sandbox-keys.ts'))});
      const paths = k.sandboxKeyPaths({ dataDir: ${JSON.stringify(dataDir)}, pay: { privateKeyPath: '', publicKeyPath: '' } });
      const keys = k.ensureSandboxKeys(paths);
      const h = (key) => crypto.createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex');
      k.ensureSandboxCertificates(paths, keys, { mchId: '1900000109', certSerial: '5A0B0C0D' }).then((c) =>
        console.log(JSON.stringify({ merchant: h(keys.merchantPublicKey), platform: h(keys.platformPublicKey), serial: c.platform.serial })));
    `;
    const run = () =>
      new Promise<string>((resolve, reject) => {
        const p = spawn(process.execPath, ['-e', child], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        p.stdout.on('data', (d) => (out += d));
        p.stderr.on('data', (d) => (err += d));
        p.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(err))));
      });
    const results = await Promise.all([run(), run(), run(), run()]);
    expect(new Set(results).size).toBe(1);
    const parsed = JSON.parse(results[0]);
    expect(parsed.merchant).not.toBe(parsed.platform);
    const paths = sandboxKeyPaths({ dataDir, pay: { privateKeyPath: '', publicKeyPath: '' } as AppConfig['pay'] });
    const onDisk = createHash('sha256')
      .update(ensureSandboxKeys(paths).platformPublicKey.export({ type: 'spki', format: 'der' }))
      .digest('hex');
    expect(onDisk).toBe(parsed.platform);
  }, 60_000);

  it('a half-written key file left by a racing creator is read once it is complete', async () => {
    const dataDir = tempDir('wx-sandbox-half-');
    const paths = sandboxKeyPaths({ dataDir, pay: { privateKeyPath: '', publicKeyPath: '' } as AppConfig['pay'] });
    const reference = ensureSandboxKeys(
      sandboxKeyPaths({ dataDir: tempDir('wx-sandbox-ref-'), pay: { privateKeyPath: '', publicKeyPath: '' } as AppConfig['pay'] }),
    );
    const pem = reference.merchantPrivateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    mkdirSync(paths.dir, { recursive: true });
    writeFileSync(paths.merchantPrivateKey, pem.slice(0, 100), { mode: 0o600 }); // the racer has written only a part
    const finisher = spawn(process.execPath, [
      '-e',
      `setTimeout(() => require('fs').writeFileSync(${JSON.stringify(paths.merchantPrivateKey)}, ${JSON.stringify(pem)}), 300)`,
    ]);
    const keys = ensureSandboxKeys(paths); // blocks, retrying the read, until the racer is done
    await new Promise((r) => finisher.on('exit', r));
    expect(keys.merchantPrivateKey.export({ type: 'pkcs8', format: 'pem' })).toBe(pem);
  });
});

describe('access token', () => {
  it('issues a token for the right credentials and counts fetches; wrong ones get WeChat errcodes', async () => {
    const q = (o: Record<string, string>) => sb(`/api/cgi-bin/token?${new URLSearchParams(o).toString()}`);
    const ok = await getJson(q({ grant_type: 'client_credential', appid: cfg.wechat.appId, secret: cfg.wechat.secret }));
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ access_token: expect.stringMatching(/^[A-Za-z0-9_-]{100,}$/), expires_in: 7200 });
    expect((await getJson(q({ grant_type: 'client_credential', appid: 'wxwrong', secret: cfg.wechat.secret }))).body.errcode).toBe(40013);
    expect((await getJson(q({ grant_type: 'client_credential', appid: cfg.wechat.appId, secret: 'wrong' }))).body.errcode).toBe(40125);
    expect((await getJson(q({ grant_type: 'password', appid: cfg.wechat.appId, secret: cfg.wechat.secret }))).body.errcode).toBe(40002);
    expect((await getJson(q({ grant_type: 'client_credential', secret: cfg.wechat.secret }))).body.errcode).toBe(41002);
    const wrong = (await getJson(q({ grant_type: 'client_credential', appid: 'wxwrong', secret: cfg.wechat.secret }))).body;
    expect(wrong.errmsg).toMatch(/^invalid appid rid: /);
    await accessToken();
    const stats = (await getJson(sb('/stats'))).body;
    expect(stats.token_fetches).toBe(2);
    expect(stats.token_errors).toBe(5);
  });

  it('every API call checks access_token: missing 41001, unknown 40001, expired 42001', async () => {
    expect((await getJson(sb('/api/cgi-bin/menu/get'))).body.errcode).toBe(41001);
    expect((await getJson(sb('/api/cgi-bin/menu/get?access_token=nonsense'))).body.errcode).toBe(40001);
    const token = await accessToken();
    expect((await getJson(sb(`/api/cgi-bin/menu/get?access_token=${token}`))).body.errcode).toBe(46003); // valid: no menu yet
    await postJson(sb('/clock'), { advance_seconds: 7201 });
    expect((await getJson(sb(`/api/cgi-bin/menu/get?access_token=${token}`))).body.errcode).toBe(42001);
    const stats = (await getJson(sb('/stats'))).body;
    expect(stats.api_calls).toBe(4);
    expect(stats.api_errors).toBe(3);
  });

  it('a new token leaves the previous one valid for 5 minutes only', async () => {
    const first = await accessToken();
    const second = await accessToken();
    expect(second).not.toBe(first);
    expect((await getJson(sb(`/api/cgi-bin/menu/get?access_token=${first}`))).body.errcode).toBe(46003);
    await postJson(sb('/clock'), { advance_seconds: 301 });
    expect((await getJson(sb(`/api/cgi-bin/menu/get?access_token=${first}`))).body.errcode).toBe(40001);
    expect((await getJson(sb(`/api/cgi-bin/menu/get?access_token=${second}`))).body.errcode).toBe(46003);
  });

  it('stable_token returns the same token until force_refresh, which kills the old one at once', async () => {
    const body = { grant_type: 'client_credential', appid: cfg.wechat.appId, secret: cfg.wechat.secret };
    const a = (await postJson(sb('/api/cgi-bin/stable_token'), body)).body;
    const b = (await postJson(sb('/api/cgi-bin/stable_token'), body)).body;
    expect(a.expires_in).toBe(7200);
    expect(b.access_token).toBe(a.access_token);
    const c = (await postJson(sb('/api/cgi-bin/stable_token'), { ...body, force_refresh: true })).body;
    expect(c.access_token).not.toBe(a.access_token);
    expect((await getJson(sb(`/api/cgi-bin/menu/get?access_token=${a.access_token}`))).body.errcode).toBe(40001);
    expect((await postJson(sb('/api/cgi-bin/stable_token'), { ...body, secret: 'nope' })).body.errcode).toBe(40125);
    expect((await getJson(sb('/stats'))).body).toMatchObject({ token_fetches: 3, stable_token_fetches: 3 });
  });

  it('fault 40001-once answers 40001 to the next call with a valid token and kills that token', async () => {
    const token = await accessToken();
    await postJson(sb('/faults'), { token: '40001-once' });
    expect((await getJson(sb(`/api/cgi-bin/menu/get?access_token=${token}`))).body.errcode).toBe(40001);
    expect((await getJson(sb(`/api/cgi-bin/menu/get?access_token=${token}`))).body.errcode).toBe(40001);
    expect((await getJson(sb('/faults'))).body.token).toBeNull();
    const fresh = await accessToken();
    expect((await getJson(sb(`/api/cgi-bin/menu/get?access_token=${fresh}`))).body.errcode).toBe(46003);
  });

  it('fault token=down drops the connection like an unreachable host', async () => {
    await postJson(sb('/faults'), { token: 'down' });
    await expect(
      fetch(sb(`/api/cgi-bin/token?grant_type=client_credential&appid=${cfg.wechat.appId}&secret=${cfg.wechat.secret}`)),
    ).rejects.toThrow();
    await postJson(sb('/faults'), { token: null });
    await accessToken();
  });

  it('rejects unknown fault values', async () => {
    expect((await postJson(sb('/faults'), { pay: 'exploded' })).status).toBe(400);
    expect((await postJson(sb('/faults'), { nonsense: 1 })).status).toBe(400);
  });
});

describe('OAuth', () => {
  const authorize = (params: Record<string, string>) =>
    sb(
      `/open/connect/oauth2/authorize?${new URLSearchParams({
        appid: cfg.wechat.appId,
        redirect_uri: `${cfg.http.publicBaseUrl}/wechat/member.html`,
        response_type: 'code',
        scope: 'snsapi_base',
        state: 'member',
        ...params,
      }).toString()}`,
    );
  const exchange = (code: string, secret = cfg.wechat.secret) =>
    getJson(
      sb(
        `/api/sns/oauth2/access_token?${new URLSearchParams({ appid: cfg.wechat.appId, secret, code, grant_type: 'authorization_code' }).toString()}`,
      ),
    );

  async function login(openid: string): Promise<URL> {
    const res = await fetch(authorize({ sandbox_openid: openid }), { redirect: 'manual' });
    expect(res.status).toBe(302);
    return new URL(res.headers.get('location')!);
  }

  it('renders a "Log in as…" page with the known users, escaping what it echoes', async () => {
    await login('oSBXknownuser0000000000000001');
    const res = await fetch(authorize({ state: '"><script>alert(1)</script>' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const page = await res.text();
    expect(page).toContain('Log in as');
    expect(page).toContain('oSBXknownuser0000000000000001');
    expect(page).toContain('name="sandbox_openid"');
    expect(page).not.toContain('<script>alert(1)</script>');
    expect(page).toContain('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('redirects with code and state; the code is single-use (40163) and expires after 5 minutes (40029)', async () => {
    const target = await login(OPENID);
    expect(`${target.origin}${target.pathname}`).toBe(`${cfg.http.publicBaseUrl}/wechat/member.html`);
    expect(target.searchParams.get('state')).toBe('member');
    const code = target.searchParams.get('code')!;
    const first = await exchange(code);
    expect(first.body).toEqual({
      access_token: expect.any(String),
      expires_in: 7200,
      refresh_token: expect.any(String),
      openid: OPENID,
      scope: 'snsapi_base',
    });
    expect((await exchange(code)).body.errcode).toBe(40163);
    expect((await exchange('not-a-code')).body.errcode).toBe(40029);
    const other = (await login(OPENID)).searchParams.get('code')!;
    expect((await exchange(other, 'wrong-secret')).body.errcode).toBe(40125);
    await postJson(sb('/clock'), { advance_seconds: 301 });
    expect((await exchange(other)).body.errcode).toBe(40029);
  });

  it('refuses a wrong appid, redirect_uri or scope with an error page', async () => {
    expect((await fetch(authorize({ appid: 'wxother' }))).status).toBe(400);
    expect((await fetch(authorize({ redirect_uri: 'javascript:alert(1)' }))).status).toBe(400);
    expect((await fetch(authorize({ scope: 'snsapi_everything' }))).status).toBe(400);
    expect((await fetch(authorize({ sandbox_openid: 'bad openid!' }), { redirect: 'manual' })).status).toBe(400);
  });
});

describe('QR codes', () => {
  it('creates the four kinds with WeChat validation, and shows a ticket only when URL-encoded', async () => {
    const token = await accessToken();
    const str = await createQr(token, {
      expire_seconds: 1800,
      action_name: 'QR_STR_SCENE',
      action_info: { scene: { scene_str: 'bind_abc' } },
    });
    expect(str).toEqual({
      ticket: expect.any(String),
      expire_seconds: 1800,
      url: expect.stringMatching(/^http:\/\/weixin\.qq\.com\/q\/\w+$/),
    });
    expect(str.ticket).toMatch(/[+/=]/); // forces clients to URL-encode it
    expect(await createQr(token, { action_name: 'QR_SCENE', action_info: { scene: { scene_id: 123 } } })).toMatchObject({
      expire_seconds: 60,
    });
    const limit = await createQr(token, { action_name: 'QR_LIMIT_SCENE', action_info: { scene: { scene_id: 100000 } } });
    expect(limit.expire_seconds).toBeUndefined();
    expect(await createQr(token, { action_name: 'QR_LIMIT_STR_SCENE', action_info: { scene: { scene_str: 'x' } } })).toHaveProperty(
      'ticket',
    );

    expect((await createQr(token, { action_name: 'QR_FOO', action_info: { scene: { scene_str: 'x' } } })).errcode).toBe(40052);
    expect((await createQr(token, { action_name: 'QR_STR_SCENE', action_info: { scene: { scene_str: 'x'.repeat(65) } } })).errcode).toBe(
      40053,
    );
    expect(
      (await createQr(token, { expire_seconds: 59, action_name: 'QR_STR_SCENE', action_info: { scene: { scene_str: 'x' } } })).errcode,
    ).toBe(40053);
    expect(
      (await createQr(token, { expire_seconds: 2592001, action_name: 'QR_STR_SCENE', action_info: { scene: { scene_str: 'x' } } })).errcode,
    ).toBe(40053);
    expect((await createQr(token, { action_name: 'QR_LIMIT_SCENE', action_info: { scene: { scene_id: 100001 } } })).errcode).toBe(40053);
    expect((await createQr(token, { action_name: 'QR_STR_SCENE' })).errcode).toBe(40053);
    expect((await createQr('bad-token', { action_name: 'QR_SCENE', action_info: { scene: { scene_id: 1 } } })).errcode).toBe(40001);
    expect((await getJson(sb('/stats'))).body.qrcodes_created).toBe(4);

    const page = await fetch(`${cfg.wechat.mpBase}/cgi-bin/showqrcode?ticket=${encodeURIComponent(str.ticket)}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const html = await page.text();
    expect(html).toContain('bind_abc');
    expect(html).toContain('sandbox-scan-form');
    expect(inlineScripts(html)).toHaveLength(1);
    for (const script of inlineScripts(html)) expect(() => new vm.Script(script)).not.toThrow();
    expect((await fetch(`${cfg.wechat.mpBase}/cgi-bin/showqrcode?ticket=${str.ticket}`)).status).toBe(404);
  });

  it('an expired ticket is no longer shown, and scanning it pushes nothing unless forced', async () => {
    const token = await accessToken();
    const qr = await createQr(token, {
      expire_seconds: 60,
      action_name: 'QR_STR_SCENE',
      action_info: { scene: { scene_str: 'bind_old' } },
    });
    await postJson(sb('/clock'), { advance_seconds: 61 });
    expect((await fetch(`${cfg.wechat.mpBase}/cgi-bin/showqrcode?ticket=${encodeURIComponent(qr.ticket)}`)).status).toBe(404);
    expect((await postJson(sb('/actions/scan'), { ticket: qr.ticket, openid: OPENID })).status).toBe(410);
    expect(receiver.on(VERIFY_PATH)).toHaveLength(0);
    await postJson(sb('/faults'), { push_mode: 'plain' });
    const forced = await postJson(sb('/actions/scan'), { ticket: qr.ticket, openid: OPENID, force: true });
    expect(forced.body).toMatchObject({ ok: true, event: 'subscribe', event_key: 'qrscene_bind_old' });
    expect(receiver.on(VERIFY_PATH)).toHaveLength(1);
  });
});

describe('menu', () => {
  const menu = {
    button: [
      { type: 'view', name: '芯图相册', url: 'http://127.0.0.1/home' },
      {
        name: '会员服务',
        sub_button: [
          { type: 'view', name: '开通会员', url: 'https://open.weixin.qq.com/connect/oauth2/authorize?appid=x#wechat_redirect' },
          { type: 'click', name: '联系客服', key: 'CONTACT' },
        ],
      },
    ],
  };

  it('creates, gets and deletes a menu, validating the structure like WeChat', async () => {
    const token = await accessToken();
    const create = (body: unknown) => postJson(sb(`/api/cgi-bin/menu/create?access_token=${token}`), body).then((r) => r.body);
    expect(await create(menu)).toEqual({ errcode: 0, errmsg: 'ok' });
    const got = (await getJson(sb(`/api/cgi-bin/menu/get?access_token=${token}`))).body;
    expect(got.menu.button[0]).toEqual({ ...menu.button[0], sub_button: [] });
    expect(got.menu.button[1].sub_button[1]).toEqual({ type: 'click', name: '联系客服', key: 'CONTACT', sub_button: [] });
    expect(typeof got.menu.menuid).toBe('number');

    const view = { type: 'view', name: 'a', url: 'http://x/' };
    expect((await create({ button: [view, view, view, view] })).errcode).toBe(40016);
    expect((await create({ button: [] })).errcode).toBe(40016);
    expect((await create({ button: [{ name: 'm', sub_button: [view, view, view, view, view, view] }] })).errcode).toBe(40023);
    expect((await create({ button: [{ type: 'view', name: 'a' }] })).errcode).toBe(40020);
    expect((await create({ button: [{ name: 'm', sub_button: [{ type: 'view', name: 'a' }] }] })).errcode).toBe(40027);
    expect((await create({ button: [{ type: 'click', name: 'a' }] })).errcode).toBe(40019);
    expect((await create({ button: [{ type: 'teleport', name: 'a' }] })).errcode).toBe(40017);
    expect((await create({ button: [{ ...view, name: '一二三四五六' }] })).errcode).toBe(40018);
    const garbage = await fetch(sb(`/api/cgi-bin/menu/create?access_token=${token}`), { method: 'POST', body: '{not json' });
    expect(((await garbage.json()) as { errcode: number }).errcode).toBe(47001);
    // A failed create leaves the previous menu in place.
    expect((await getJson(sb(`/api/cgi-bin/menu/get?access_token=${token}`))).body.menu.button).toHaveLength(2);

    expect((await getJson(sb(`/api/cgi-bin/menu/delete?access_token=${token}`))).body).toEqual({ errcode: 0, errmsg: 'ok' });
    expect((await getJson(sb(`/api/cgi-bin/menu/get?access_token=${token}`))).body.errcode).toBe(46003);
  });
});

describe('pushes to the app (scan, subscribe, unsubscribe)', () => {
  const crypto = () =>
    new WechatMessageCrypto({ token: cfg.wechat.token, encodingAesKey: cfg.wechat.encodingAesKey, appId: cfg.wechat.appId });

  async function qr(scene: string): Promise<string> {
    const token = await accessToken();
    return (await createQr(token, { expire_seconds: 1800, action_name: 'QR_STR_SCENE', action_info: { scene: { scene_str: scene } } }))
      .ticket;
  }

  function expectSigned(r: Received, openid: string) {
    const q = r.query;
    expect(r.method).toBe('POST');
    expect(q.get('signature')).toBe(sha1Signature(cfg.wechat.token, q.get('timestamp')!, q.get('nonce')!));
    expect(Math.abs(Number(q.get('timestamp')) - nowSeconds())).toBeLessThan(30);
    expect(q.get('openid')).toBe(openid);
  }

  it('defaults to safe mode when an EncodingAESKey is configured', async () => {
    expect(cfg.wechat.encodingAesKey).toHaveLength(43);
    expect((await getJson(sb('/faults'))).body.push_mode).toBe('safe');
  });

  it('plain mode: a first scan is subscribe + qrscene_<scene>, a second SCAN + <scene>; the app reply is returned', async () => {
    await postJson(sb('/faults'), { push_mode: 'plain' });
    const ticket = await qr('bind_plain');
    receiver.handler = (r) => {
      if (r.path !== VERIFY_PATH) return Receiver.defaultHandler(r);
      return {
        status: 200,
        headers: { 'Content-Type': 'application/xml' },
        body: buildXml({ ToUserName: 'x', FromUserName: 'gh', CreateTime: 1, MsgType: 'text', Content: '已绑定电脑端' }),
      };
    };
    const openid = 'oSBXscanner00000000000000001';
    const first = await postJson(sb('/actions/scan'), { ticket, openid });
    expect(first.body).toMatchObject({ ok: true, event: 'subscribe', event_key: 'qrscene_bind_plain' });
    expect(first.body.push).toMatchObject({
      delivered: true,
      status: 200,
      mode: 'plain',
      reply: { encrypted: false, fields: { Content: '已绑定电脑端' } },
    });
    const [push] = receiver.on(VERIFY_PATH);
    expectSigned(push, openid);
    expect(push.query.get('encrypt_type')).toBeNull();
    expect(push.headers['content-type']).toMatch(/xml/);
    const fields = await parseWechatXml(push.body);
    expect(fields).toMatchObject({
      FromUserName: openid,
      MsgType: 'event',
      Event: 'subscribe',
      EventKey: 'qrscene_bind_plain',
      Ticket: ticket,
    });
    expect(fields.ToUserName).toMatch(/^gh_/);

    const second = await postJson(sb('/actions/scan'), { ticket, openid });
    expect(second.body).toMatchObject({ event: 'SCAN', event_key: 'bind_plain' });
    const scan = await parseWechatXml((await receiver.waitFor(VERIFY_PATH, 2))[1].body);
    expect(scan).toMatchObject({ Event: 'SCAN', EventKey: 'bind_plain', Ticket: ticket });

    const users = (await getJson(sb('/users'))).body.users;
    expect(users).toEqual([expect.objectContaining({ openid, subscribed: true })]);
    const token = await accessToken();
    expect((await getJson(sb(`/api/cgi-bin/user/info?access_token=${token}&openid=${openid}`))).body).toMatchObject({
      subscribe: 1,
      openid,
    });
  });

  it('subscribed:true makes a first scan a SCAN; a bare scene (legacy permanent code) works without a ticket', async () => {
    await postJson(sb('/faults'), { push_mode: 'plain' });
    const r = await postJson(sb('/actions/scan'), { scene: '123', openid: OPENID, subscribed: true });
    expect(r.body).toMatchObject({ event: 'SCAN', event_key: '123' });
    const fields = await parseWechatXml(receiver.on(VERIFY_PATH)[0].body);
    expect(fields).toMatchObject({ Event: 'SCAN', EventKey: '123' });
    expect(fields.Ticket).toBeUndefined();
  });

  it('safe mode: only ToUserName + Encrypt, msg_signature verifies, and the encrypted reply is decrypted', async () => {
    const c = crypto();
    const ticket = await qr('bind_safe');
    receiver.handler = (r) => {
      if (r.path !== VERIFY_PATH) return Receiver.defaultHandler(r);
      const reply = buildXml({ ToUserName: 'o', FromUserName: 'gh', CreateTime: 1, MsgType: 'text', Content: '欢迎关注' });
      return {
        status: 200,
        headers: { 'Content-Type': 'application/xml' },
        body: c.buildEncryptedReply(reply, String(nowSeconds()), 'replynonce'),
      };
    };
    const res = await postJson(sb('/actions/scan'), { ticket, openid: OPENID });
    expect(res.body.push).toMatchObject({
      mode: 'safe',
      delivered: true,
      reply: { encrypted: true, signature_ok: true, fields: { Content: '欢迎关注' } },
    });
    const [push] = receiver.on(VERIFY_PATH);
    expectSigned(push, OPENID);
    expect(push.query.get('encrypt_type')).toBe('aes');
    const envelope = await parseWechatXml(push.body);
    expect(Object.keys(envelope).sort()).toEqual(['Encrypt', 'ToUserName']);
    const q = push.query;
    expect(c.verifyMsgSignature(q.get('msg_signature')!, q.get('timestamp')!, q.get('nonce')!, envelope.Encrypt)).toBe(true);
    const inner = await parseWechatXml(c.decrypt(envelope.Encrypt));
    expect(inner).toMatchObject({ FromUserName: OPENID, Event: 'subscribe', EventKey: 'qrscene_bind_safe', Ticket: ticket });
  });

  it('compatible mode carries the plaintext fields and Encrypt side by side', async () => {
    await postJson(sb('/faults'), { push_mode: 'compatible' });
    await postJson(sb('/actions/subscribe'), { openid: OPENID });
    const [push] = receiver.on(VERIFY_PATH);
    const fields = await parseWechatXml(push.body);
    expect(fields).toMatchObject({ Event: 'subscribe', EventKey: '', FromUserName: OPENID });
    expect(push.query.get('encrypt_type')).toBe('aes');
    const inner = await parseWechatXml(crypto().decrypt(fields.Encrypt));
    expect(inner).toMatchObject({ Event: 'subscribe', FromUserName: OPENID });
  });

  it('unsubscribe pushes the event and forgets the follow', async () => {
    await postJson(sb('/faults'), { push_mode: 'plain' });
    await postJson(sb('/actions/subscribe'), { openid: OPENID });
    const r = await postJson(sb('/actions/unsubscribe'), { openid: OPENID });
    expect(r.body).toMatchObject({ ok: true, event: 'unsubscribe' });
    const pushes = receiver.on(VERIFY_PATH);
    expect(await parseWechatXml(pushes[1].body)).toMatchObject({ Event: 'unsubscribe', FromUserName: OPENID });
    const users = (await getJson(sb('/users'))).body.users;
    expect(users[0]).toMatchObject({ openid: OPENID, subscribed: false });
    // A scan now is a subscribe again.
    expect((await postJson(sb('/actions/scan'), { scene: 'bind_x', openid: OPENID })).body.event).toBe('subscribe');
  });

  it('retries an unanswered (5xx) push with the identical request, as WeChat does', async () => {
    await postJson(sb('/faults'), { push_mode: 'plain' });
    let calls = 0;
    receiver.handler = (r) => (r.path === VERIFY_PATH && ++calls === 1 ? { status: 503 } : Receiver.defaultHandler(r));
    const r = await postJson(sb('/actions/subscribe'), { openid: OPENID });
    expect(r.body.push).toMatchObject({ delivered: false, status: 503, retrying: true });
    const pushes = await receiver.waitFor(VERIFY_PATH, 2);
    expect(pushes[1].url).toBe(pushes[0].url);
    expect(pushes[1].body.equals(pushes[0].body)).toBe(true);
    await eventually(async () => (await getJson(sb('/deliveries'))).body.deliveries[0].state === 'delivered');
  });

  it('rejects invalid action bodies with 400', async () => {
    expect((await postJson(sb('/actions/scan'), { openid: 'bad id!', scene: 'x' })).status).toBe(400);
    expect((await postJson(sb('/actions/scan'), { openid: OPENID })).status).toBe(400);
    expect((await postJson(sb('/actions/scan'), { openid: OPENID, ticket: 'unknown' })).status).toBe(404);
  });

  it('server URL verification: the app must echo echostr (plain and safe)', async () => {
    receiver.handler = (r) => ({ status: 200, body: r.query.get('echostr') ?? '' });
    await postJson(sb('/faults'), { push_mode: 'plain' });
    expect((await postJson(sb('/actions/verify-server'), {})).body).toMatchObject({ ok: true, status: 200 });
    const [get] = receiver.on(VERIFY_PATH);
    expect(get.method).toBe('GET');
    expect(get.query.get('signature')).toBe(sha1Signature(cfg.wechat.token, get.query.get('timestamp')!, get.query.get('nonce')!));
    // Safe mode: the echostr is encrypted; echoing it back unchanged is wrong.
    await postJson(sb('/faults'), { push_mode: 'safe' });
    expect((await postJson(sb('/actions/verify-server'), {})).body.ok).toBe(false);
    receiver.handler = (r) => ({ status: 200, body: crypto().decrypt(r.query.get('echostr')!) });
    expect((await postJson(sb('/actions/verify-server'), {})).body.ok).toBe(true);
  });
});

describe('WeChat Pay v2', () => {
  it('unifiedorder: MD5 and HMAC-SHA256 requests get a prepay_id and a response signed the same way', async () => {
    const md5 = await placeV2();
    expect(md5.prepayId).toMatch(/^wx\d{14}[0-9a-f]{24}$/);
    const f = md5.response.fields;
    expect(f).toMatchObject({ return_msg: 'OK', appid: cfg.wechat.appId, mch_id: cfg.pay.mchId, trade_type: 'JSAPI' });
    expect(f.sign).toBe(v2Sign(f, cfg.pay.apiKey, 'MD5'));
    const hmac = await placeV2({}, 'HMAC-SHA256');
    expect(hmac.response.fields.sign).toBe(v2Sign(hmac.response.fields, cfg.pay.apiKey, 'HMAC-SHA256'));
    expect(hmac.response.fields.sign).not.toBe(v2Sign(hmac.response.fields, cfg.pay.apiKey, 'MD5'));
  });

  it('refuses a wrong signature with return_code FAIL (unsigned) and creates nothing', async () => {
    const outTradeNo = newOutTradeNo();
    const fields = {
      body: 'x',
      out_trade_no: outTradeNo,
      total_fee: 1,
      spbill_create_ip: '127.0.0.1',
      notify_url: `${receiver.url}/notify/v2`,
      trade_type: 'JSAPI',
      openid: OPENID,
    };
    const bad = await v2Call('unifiedorder', fields, { key: 'another-key-0000000000000000000' });
    expect(bad.fields).toEqual({ return_code: 'FAIL', return_msg: '签名错误' });
    const q = await v2Call('orderquery', { out_trade_no: outTradeNo });
    expect(q.fields).toMatchObject({ return_code: 'SUCCESS', result_code: 'FAIL', err_code: 'ORDERNOTEXIST' });
    // A sign_type that does not match the signature also fails.
    const params: Fields = { appid: cfg.wechat.appId, mch_id: cfg.pay.mchId, nonce_str: 'n', ...fields, sign_type: 'HMAC-SHA256' };
    params.sign = v2Sign(params, cfg.pay.apiKey, 'MD5');
    expect((await v2Call('unifiedorder', {}, { raw: buildXml(params) })).fields.return_msg).toBe('签名错误');
  });

  it('validates like WeChat: appid, mch_id, required fields, total_fee, openid, XML', async () => {
    const base = {
      body: 'x',
      out_trade_no: newOutTradeNo(),
      total_fee: 1,
      spbill_create_ip: '127.0.0.1',
      notify_url: `${receiver.url}/notify/v2`,
      trade_type: 'JSAPI',
      openid: OPENID,
    };
    const wrongAppid = await v2Call('unifiedorder', { ...base, appid: 'wxother' });
    expect(wrongAppid.fields).toMatchObject({ return_code: 'SUCCESS', result_code: 'FAIL', err_code: 'APPID_MCHID_NOT_MATCH' });
    expect(v2Verify(wrongAppid.fields, cfg.pay.apiKey)).toBe(true);
    expect((await v2Call('unifiedorder', { ...base, mch_id: '1234567890' })).fields.return_code).toBe('FAIL');
    const { out_trade_no: _omit, ...noNumber } = base;
    expect((await v2Call('unifiedorder', noNumber)).fields).toEqual({ return_code: 'FAIL', return_msg: '缺少参数out_trade_no' });
    for (const fee of [0, -1, '1.5', 'abc']) {
      expect((await v2Call('unifiedorder', { ...base, out_trade_no: newOutTradeNo(), total_fee: fee })).fields).toEqual({
        return_code: 'FAIL',
        return_msg: 'invalid total_fee',
      });
    }
    const { openid: _o, ...noOpenid } = base;
    expect((await v2Call('unifiedorder', noOpenid)).fields).toMatchObject({ result_code: 'FAIL', err_code: 'PARAM_ERROR' });
    expect((await v2Call('unifiedorder', {}, { raw: 'not xml' })).fields).toEqual({ return_code: 'FAIL', return_msg: 'XML格式错误' });
    expect((await v2Call('unifiedorder', {}, { raw: '<!DOCTYPE x [<!ENTITY a "b">]><xml><a>&a;</a></xml>' })).fields.return_code).toBe(
      'FAIL',
    );
  });

  it('same out_trade_no: same content → same prepay_id; other content → INVALID_REQUEST; paid → ORDERPAID', async () => {
    const placed = await placeV2();
    const again = await v2Call('unifiedorder', {
      body: '会员服务',
      out_trade_no: placed.outTradeNo,
      total_fee: 2990,
      spbill_create_ip: '10.0.0.9',
      notify_url: `${receiver.url}/notify/v2`,
      trade_type: 'JSAPI',
      openid: OPENID,
    });
    expect(again.fields.prepay_id).toBe(placed.prepayId);
    const changed = await v2Call('unifiedorder', {
      body: '会员服务',
      out_trade_no: placed.outTradeNo,
      total_fee: 1,
      spbill_create_ip: '127.0.0.1',
      notify_url: `${receiver.url}/notify/v2`,
      trade_type: 'JSAPI',
      openid: OPENID,
    });
    expect(changed.fields).toMatchObject({ result_code: 'FAIL', err_code: 'INVALID_REQUEST' });
    await postJson(sb('/actions/pay'), { prepay_id: placed.prepayId, result: 'success', notify: 'never' });
    const paid = await v2Call('unifiedorder', {
      body: '会员服务',
      out_trade_no: placed.outTradeNo,
      total_fee: 2990,
      spbill_create_ip: '127.0.0.1',
      notify_url: `${receiver.url}/notify/v2`,
      trade_type: 'JSAPI',
      openid: OPENID,
    });
    expect(paid.fields).toMatchObject({ result_code: 'FAIL', err_code: 'ORDERPAID' });
    const close = await v2Call('closeorder', { out_trade_no: placed.outTradeNo });
    expect(close.fields).toMatchObject({ result_code: 'FAIL', err_code: 'ORDERPAID' });
  });

  it('orderquery and closeorder follow the order through NOTPAY → CLOSED', async () => {
    const placed = await placeV2({ attach: 'member' });
    const q1 = await v2Call('orderquery', { out_trade_no: placed.outTradeNo });
    expect(q1.fields).toMatchObject({
      result_code: 'SUCCESS',
      trade_state: 'NOTPAY',
      out_trade_no: placed.outTradeNo,
      total_fee: '2990',
      attach: 'member',
    });
    expect(v2Verify(q1.fields, cfg.pay.apiKey)).toBe(true);
    const closed = await v2Call('closeorder', { out_trade_no: placed.outTradeNo });
    expect(closed.fields).toMatchObject({ return_code: 'SUCCESS', result_code: 'SUCCESS' });
    expect(v2Verify(closed.fields, cfg.pay.apiKey)).toBe(true);
    expect((await v2Call('orderquery', { out_trade_no: placed.outTradeNo })).fields.trade_state).toBe('CLOSED');
    expect((await v2Call('closeorder', { out_trade_no: placed.outTradeNo })).fields.err_code).toBe('ORDERCLOSED');
    expect((await postJson(sb('/actions/pay'), { prepay_id: placed.prepayId, result: 'success' })).status).toBe(409);
    const reopen = await v2Call('unifiedorder', {
      body: '会员服务',
      out_trade_no: placed.outTradeNo,
      total_fee: 2990,
      spbill_create_ip: '127.0.0.1',
      notify_url: `${receiver.url}/notify/v2`,
      trade_type: 'JSAPI',
      openid: OPENID,
      attach: 'member',
    });
    expect(reopen.fields.err_code).toBe('ORDERCLOSED');
  });

  it('faults: pay=down drops the connection, pay=slow outlasts the client timeout, bad_signature signs wrongly', async () => {
    await postJson(sb('/faults'), { pay: 'down' });
    await expect(v2Call('orderquery', { out_trade_no: 'X' })).rejects.toThrow();
    await postJson(sb('/faults'), { pay: 'slow', slow_ms: 2000 });
    const started = Date.now();
    await expect(
      fetch(sb('/pay/pay/orderquery'), {
        method: 'POST',
        headers: { 'Content-Type': 'text/xml' },
        body: '<xml/>',
        signal: AbortSignal.timeout(300),
      }),
    ).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1500);
    await postJson(sb('/faults'), { pay: 'bad_signature' });
    const placed = await placeV2();
    expect(v2Verify(placed.response.fields, cfg.pay.apiKey)).toBe(false);
  });
});

describe('WeChat Pay v3', () => {
  it('jsapi verifies the Authorization over the wire path and answers signed with the public key id', async () => {
    const body = jsapiBody();
    const r = await v3Call('POST', '/v3/pay/transactions/jsapi', body);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ prepay_id: expect.stringMatching(/^wx/) });
    expect(r.headers.get('wechatpay-serial')).toBe(cfg.pay.publicKeyId);
    expect(r.headers.get('request-id')).toBeTruthy();
    expect(verifyV3Headers(platformVerifier(), r.headers, r.text)).toEqual({ ok: true });

    const q = await v3Call('GET', `/v3/pay/transactions/out-trade-no/${body.out_trade_no}?mchid=${cfg.pay.mchId}`);
    expect(q.status).toBe(200);
    expect(q.json).toMatchObject({
      trade_state: 'NOTPAY',
      out_trade_no: body.out_trade_no,
      amount: { total: 990 },
      payer: { openid: OPENID },
    });
    expect(verifyV3Headers(platformVerifier(), q.headers, q.text)).toEqual({ ok: true });
  });

  it('a bad Authorization is 401 SIGN_ERROR and changes nothing', async () => {
    const cases: Array<[string, V3Options]> = [
      ['tampered signature', { tamperSignature: true }],
      ['path without the /sandbox/pay prefix', { signPath: '/v3/pay/transactions/jsapi' }],
      ['stale timestamp', { timestamp: nowSeconds() - 600 }],
      ['unknown serial', { serialNo: 'ABCDEF0123' }],
      ['another body signed', { signedBody: '{}' }],
      ['no header', { noAuth: true }],
    ];
    for (const [name, opts] of cases) {
      const body = jsapiBody();
      const r = await v3Call('POST', '/v3/pay/transactions/jsapi', body, opts);
      expect([name, r.status, r.json.code]).toEqual([name, 401, 'SIGN_ERROR']);
      const q = await v3Call('GET', `/v3/pay/transactions/out-trade-no/${body.out_trade_no}?mchid=${cfg.pay.mchId}`);
      expect([name, q.status]).toEqual([name, 404]);
    }
    // The query string is part of the signed path.
    const placed = jsapiBody();
    await v3Call('POST', '/v3/pay/transactions/jsapi', placed);
    const noQuery = await v3Call('GET', `/v3/pay/transactions/out-trade-no/${placed.out_trade_no}?mchid=${cfg.pay.mchId}`, undefined, {
      signPath: `/sandbox/pay/v3/pay/transactions/out-trade-no/${placed.out_trade_no}`,
    });
    expect(noQuery.status).toBe(401);
    expect((await getJson(sb('/stats'))).body.pay_auth_failures).toBe(7);
  });

  it('validates the body and duplicate numbers like WeChat', async () => {
    expect((await v3Call('POST', '/v3/pay/transactions/jsapi', jsapiBody({ amount: { total: 0 } }))).json.code).toBe('PARAM_ERROR');
    expect((await v3Call('POST', '/v3/pay/transactions/jsapi', jsapiBody({ payer: {} }))).json.code).toBe('PARAM_ERROR');
    const wrongAppid = await v3Call('POST', '/v3/pay/transactions/jsapi', jsapiBody({ appid: 'wxother' }));
    expect([wrongAppid.status, wrongAppid.json.code]).toEqual([400, 'APPID_MCHID_NOT_MATCH']);
    const body = jsapiBody();
    const first = await v3Call('POST', '/v3/pay/transactions/jsapi', body);
    expect((await v3Call('POST', '/v3/pay/transactions/jsapi', body)).json.prepay_id).toBe(first.json.prepay_id);
    const other = await v3Call('POST', '/v3/pay/transactions/jsapi', { ...body, amount: { total: 1 } });
    expect([other.status, other.json.code]).toEqual([403, 'OUT_TRADE_NO_USED']);
    const noMchid = await v3Call('GET', `/v3/pay/transactions/out-trade-no/${body.out_trade_no}`);
    expect([noMchid.status, noMchid.json.code]).toEqual([400, 'PARAM_ERROR']);
  });

  it('close answers a signed 204 and the order turns CLOSED', async () => {
    const body = jsapiBody();
    await v3Call('POST', '/v3/pay/transactions/jsapi', body);
    const close = await v3Call('POST', `/v3/pay/transactions/out-trade-no/${body.out_trade_no}/close`, { mchid: cfg.pay.mchId });
    expect(close.status).toBe(204);
    expect(close.text).toBe('');
    expect(verifyV3Headers(platformVerifier(), close.headers, '')).toEqual({ ok: true });
    const q = await v3Call('GET', `/v3/pay/transactions/out-trade-no/${body.out_trade_no}?mchid=${cfg.pay.mchId}`);
    expect(q.json.trade_state).toBe('CLOSED');
    expect((await v3Call('POST', '/v3/pay/transactions/jsapi', body)).json.code).toBe('ORDER_CLOSED');
  });

  it('certificates: decryptable with the APIv3 key, serial ≠ public key id, and usable to verify responses', async () => {
    const r = await v3Call('GET', '/v3/certificates');
    expect(r.status).toBe(200);
    expect(verifyV3Headers(platformVerifier(), r.headers, r.text)).toEqual({ ok: true });
    const [entry] = r.json.data;
    expect(entry).toMatchObject({
      serial_no: expect.stringMatching(/^[0-9A-F]+$/),
      effective_time: expect.stringMatching(/\+08:00$/),
      expire_time: expect.stringMatching(/\+08:00$/),
    });
    expect(entry.encrypt_certificate).toMatchObject({ algorithm: 'AEAD_AES_256_GCM', associated_data: 'certificate' });
    const pem = aesGcmDecrypt({
      key: cfg.pay.apiV3Key,
      nonce: entry.encrypt_certificate.nonce,
      associatedData: 'certificate',
      ciphertext: entry.encrypt_certificate.ciphertext,
    });
    const cert = new X509Certificate(pem);
    expect(cert.serialNumber.toUpperCase()).toBe(entry.serial_no);
    expect(entry.serial_no).not.toBe(cfg.pay.publicKeyId);
    expect(
      cert.publicKey
        .export({ type: 'spki', format: 'der' })
        .equals(createPublicKey(platformPublicPem).export({ type: 'spki', format: 'der' })),
    ).toBe(true);

    await postJson(sb('/faults'), { v3_serial: 'certificate' });
    const q = await v3Call('POST', '/v3/pay/transactions/jsapi', jsapiBody());
    expect(q.headers.get('wechatpay-serial')).toBe(entry.serial_no);
    const byCert = new V3SignatureVerifier();
    byCert.addCertificate(entry.serial_no, pem);
    expect(verifyV3Headers(byCert, q.headers, q.text)).toEqual({ ok: true });
    expect(verifyV3Headers(platformVerifier(), q.headers, q.text)).toEqual({ ok: false, reason: 'unknown_serial' });
  });

  it('bad_signature fault: responses no longer verify', async () => {
    await postJson(sb('/faults'), { pay: 'bad_signature' });
    const r = await v3Call('POST', '/v3/pay/transactions/jsapi', jsapiBody());
    expect(r.status).toBe(200);
    expect(verifyV3Headers(platformVerifier(), r.headers, r.text)).toEqual({ ok: false, reason: 'bad_signature' });
  });
});

describe('the pay action and notifications', () => {
  it('v2: marks the order paid and delivers a signed notification the app can verify', async () => {
    const placed = await placeV2();
    const r = await postJson(sb('/actions/pay'), { prepay_id: `prepay_id=${placed.prepayId}`, result: 'success' });
    expect(r.body).toMatchObject({ ok: true, trade_state: 'SUCCESS', transaction_id: expect.stringMatching(/^4200\d{24}$/) });
    expect(r.body.notify.deliveries).toEqual([expect.objectContaining({ kind: 'pay_v2', state: 'delivered' })]);
    const [n] = receiver.on('/notify/v2');
    expect(n.headers['content-type']).toMatch(/xml/);
    const f = await parseWechatXml(n.body);
    expect(v2Verify(f, cfg.pay.apiKey)).toBe(true);
    expect(f).toMatchObject({
      return_code: 'SUCCESS',
      result_code: 'SUCCESS',
      appid: cfg.wechat.appId,
      mch_id: cfg.pay.mchId,
      out_trade_no: placed.outTradeNo,
      total_fee: '2990',
      cash_fee: '2990',
      openid: OPENID,
      transaction_id: r.body.transaction_id,
      time_end: expect.stringMatching(/^\d{14}$/),
    });
    expect(f.sign_type).toBeUndefined();
    const q = await v2Call('orderquery', { out_trade_no: placed.outTradeNo });
    expect(q.fields).toMatchObject({ trade_state: 'SUCCESS', transaction_id: r.body.transaction_id });
    expect((await postJson(sb('/actions/pay'), { prepay_id: placed.prepayId, result: 'success' })).status).toBe(409);
  });

  it('v2 HMAC-SHA256 orders are notified with sign_type=HMAC-SHA256', async () => {
    const placed = await placeV2({}, 'HMAC-SHA256');
    await postJson(sb('/actions/pay'), { prepay_id: placed.prepayId, result: 'success' });
    const f = await parseWechatXml(receiver.on('/notify/v2')[0].body);
    expect(f.sign_type).toBe('HMAC-SHA256');
    expect(f.sign).toBe(v2Sign(f, cfg.pay.apiKey, 'HMAC-SHA256'));
  });

  it('retries while the app answers FAIL, then stops on SUCCESS', async () => {
    let calls = 0;
    receiver.handler = (r) => (r.path === '/notify/v2' && ++calls <= 2 ? { status: 200, body: FAIL_XML } : Receiver.defaultHandler(r));
    const placed = await placeV2();
    const r = await postJson(sb('/actions/pay'), { prepay_id: placed.prepayId, result: 'success' });
    expect(r.body.notify.deliveries[0].attempts[0]).toMatchObject({ ok: false, status: 200 });
    const all = await receiver.waitFor('/notify/v2', 3);
    expect(all[2].body.equals(all[0].body)).toBe(true); // v2 retries resend the same document
    await eventually(async () => (await getJson(sb('/deliveries'))).body.deliveries[0].state === 'delivered');
    await sleep(700);
    expect(receiver.on('/notify/v2')).toHaveLength(3);
  });

  it('duplicate sends several identical notifications at once; never sends none', async () => {
    const dup = await placeV2();
    const r = await postJson(sb('/actions/pay'), { prepay_id: dup.prepayId, result: 'success', notify: 'duplicate', copies: 4 });
    expect(r.body.notify.deliveries).toHaveLength(4);
    const got = receiver.on('/notify/v2');
    expect(got).toHaveLength(4);
    expect(new Set(got.map((g) => g.body.toString())).size).toBe(1);

    receiver.reset();
    const quiet = await placeV2();
    const n = await postJson(sb('/actions/pay'), { prepay_id: quiet.prepayId, result: 'success', notify: 'never' });
    expect(n.body).toMatchObject({ ok: true, trade_state: 'SUCCESS', notify: { mode: 'never', deliveries: [] } });
    await sleep(500);
    expect(receiver.on('/notify/v2')).toHaveLength(0);
    expect((await v2Call('orderquery', { out_trade_no: quiet.outTradeNo })).fields.trade_state).toBe('SUCCESS');
  });

  it('late sends after delay_ms; the notify=drop fault sends nothing', async () => {
    const placed = await placeV2();
    const r = await postJson(sb('/actions/pay'), { prepay_id: placed.prepayId, result: 'success', notify: 'late', delay_ms: 800 });
    expect(r.body.notify.deliveries[0].state).toBe('scheduled');
    await sleep(300);
    expect(receiver.on('/notify/v2')).toHaveLength(0);
    await receiver.waitFor('/notify/v2', 1);

    await postJson(sb('/faults'), { notify: 'drop' });
    const dropped = await placeV2();
    const d = await postJson(sb('/actions/pay'), { prepay_id: dropped.prepayId, result: 'success' });
    expect(d.body.notify.deliveries[0].state).toBe('dropped');
    await sleep(300);
    expect(receiver.on('/notify/v2')).toHaveLength(1);
  });

  it('fail sends a result_code=FAIL notification and the order is PAYERROR; cancel changes nothing', async () => {
    const failed = await placeV2();
    await postJson(sb('/actions/pay'), { prepay_id: failed.prepayId, result: 'fail' });
    const f = await parseWechatXml(receiver.on('/notify/v2')[0].body);
    expect(f).toMatchObject({ return_code: 'SUCCESS', result_code: 'FAIL', out_trade_no: failed.outTradeNo });
    expect(v2Verify(f, cfg.pay.apiKey)).toBe(true);
    expect((await v2Call('orderquery', { out_trade_no: failed.outTradeNo })).fields.trade_state).toBe('PAYERROR');

    const cancelled = await placeV2();
    const c = await postJson(sb('/actions/pay'), { prepay_id: cancelled.prepayId, result: 'cancel' });
    expect(c.body).toMatchObject({ ok: true, result: 'cancel', trade_state: 'NOTPAY' });
    expect(receiver.on('/notify/v2')).toHaveLength(1);
    expect((await postJson(sb('/actions/pay'), { prepay_id: 'wx-unknown', result: 'success' })).status).toBe(404);
  });

  it('v3: an AES-GCM notification with platform-key signatures, retried on 5xx with fresh headers', async () => {
    let calls = 0;
    receiver.handler = (r) =>
      r.path === '/notify/v3' && ++calls === 1
        ? { status: 500, body: '{"code":"FAIL","message":"SYSTEM_ERROR"}' }
        : Receiver.defaultHandler(r);
    const body = jsapiBody();
    const placed = await v3Call('POST', '/v3/pay/transactions/jsapi', body);
    const r = await postJson(sb('/actions/pay'), { prepay_id: placed.json.prepay_id, result: 'success' });
    expect(r.body.notify.deliveries[0].kind).toBe('pay_v3');
    const [first, second] = await receiver.waitFor('/notify/v3', 2);
    const verifier = platformVerifier();
    for (const n of [first, second]) {
      expect(n.headers['content-type']).toMatch(/application\/json/);
      expect(n.headers['wechatpay-serial']).toBe(cfg.pay.publicKeyId);
      expect(verifyV3Headers(verifier, n.headers, n.body)).toEqual({ ok: true });
    }
    expect(second.body.equals(first.body)).toBe(true);
    expect(second.headers['wechatpay-nonce']).not.toBe(first.headers['wechatpay-nonce']);
    const notification = JSON.parse(first.body.toString());
    expect(notification).toMatchObject({
      event_type: 'TRANSACTION.SUCCESS',
      resource_type: 'encrypt-resource',
      resource: { algorithm: 'AEAD_AES_256_GCM', associated_data: 'transaction', original_type: 'transaction' },
    });
    const tx = JSON.parse(
      aesGcmDecrypt({
        key: cfg.pay.apiV3Key,
        nonce: notification.resource.nonce,
        associatedData: 'transaction',
        ciphertext: notification.resource.ciphertext,
      }),
    );
    expect(tx).toMatchObject({
      appid: cfg.wechat.appId,
      mchid: cfg.pay.mchId,
      out_trade_no: body.out_trade_no,
      transaction_id: r.body.transaction_id,
      trade_state: 'SUCCESS',
      payer: { openid: OPENID },
      amount: { total: 990, payer_total: 990, currency: 'CNY' },
      success_time: expect.stringMatching(/\+08:00$/),
    });
    const q = await v3Call('GET', `/v3/pay/transactions/out-trade-no/${body.out_trade_no}?mchid=${cfg.pay.mchId}`);
    expect(q.json).toMatchObject({ trade_state: 'SUCCESS', transaction_id: r.body.transaction_id });
  });

  it('renotify resends the notification of a paid order', async () => {
    const placed = await placeV2();
    await postJson(sb('/actions/pay'), { prepay_id: placed.prepayId, result: 'success', notify: 'never' });
    const r = await postJson(sb('/actions/renotify'), { out_trade_no: placed.outTradeNo });
    expect(r.body.notify.deliveries[0].state).toBe('delivered');
    expect(await parseWechatXml(receiver.on('/notify/v2')[0].body)).toMatchObject({
      out_trade_no: placed.outTradeNo,
      result_code: 'SUCCESS',
    });
  });

  it('GET /sandbox/orders lists recent prepay orders', async () => {
    const placed = await placeV2();
    const { body } = await getJson(sb('/orders'));
    expect(body.orders[0]).toMatchObject({
      out_trade_no: placed.outTradeNo,
      prepay_id: placed.prepayId,
      version: 'v2',
      amount_fen: 2990,
      state: 'NOTPAY',
    });
  });
});

describe('paySign check (verify-pay-sign)', () => {
  function v2PayParams(prepayId: string, signType: V2SignType = 'MD5', key = cfg.pay.apiKey) {
    const params: Record<string, string> = {
      appId: cfg.wechat.appId,
      timeStamp: String(nowSeconds()),
      nonceStr: randomNonce(16),
      package: `prepay_id=${prepayId}`,
      signType,
    };
    return { ...params, paySign: v2Sign(params, key, signType) };
  }

  it('accepts a correct v2 MD5/HMAC paySign and refuses a wrong one', async () => {
    const placed = await placeV2();
    const ok = await postJson(sb('/actions/verify-pay-sign'), v2PayParams(placed.prepayId));
    expect(ok.body).toMatchObject({ ok: true, amount_fen: 2990, out_trade_no: placed.outTradeNo, description: '会员服务' });
    expect((await postJson(sb('/actions/verify-pay-sign'), v2PayParams(placed.prepayId, 'HMAC-SHA256'))).body.ok).toBe(true);
    expect((await postJson(sb('/actions/verify-pay-sign'), v2PayParams(placed.prepayId, 'MD5', 'wrong-key'))).body).toMatchObject({
      ok: false,
      error: '支付验证签名失败',
    });
    const numeric = { ...v2PayParams(placed.prepayId), timeStamp: nowSeconds() };
    expect((await postJson(sb('/actions/verify-pay-sign'), numeric)).body.ok).toBe(false); // every value must be a string
  });

  it('accepts a v3 RSA paySign from the merchant key only', async () => {
    const placed = await v3Call('POST', '/v3/pay/transactions/jsapi', jsapiBody());
    const ts = String(nowSeconds());
    const pkg = `prepay_id=${placed.json.prepay_id}`;
    const params = {
      appId: cfg.wechat.appId,
      timeStamp: ts,
      nonceStr: 'abc',
      package: pkg,
      signType: 'RSA',
      paySign: jsapiPaySign(cfg.wechat.appId, ts, 'abc', pkg, merchantKey),
    };
    expect((await postJson(sb('/actions/verify-pay-sign'), params)).body).toMatchObject({ ok: true, amount_fen: 990, version: 'v3' });
    const platformPrivate = readFileSync(sandboxKeyPaths(cfg).platformPrivateKey, 'utf8');
    const wrongKey = { ...params, paySign: jsapiPaySign(cfg.wechat.appId, ts, 'abc', pkg, platformPrivate) };
    expect((await postJson(sb('/actions/verify-pay-sign'), wrongKey)).body.ok).toBe(false);
    expect((await postJson(sb('/actions/verify-pay-sign'), { ...params, signType: 'MD5' })).body.ok).toBe(false);
  });
});

describe('GET /sandbox/jsbridge.js', () => {
  /** A just-enough DOM to run the bridge outside a browser; innerHTML is a trap. */
  function fakeBrowser(scriptUrl: string) {
    const byId = new Map<string, FakeElement>();
    class FakeElement {
      attrs: Record<string, string> = {};
      children: FakeElement[] = [];
      parentNode: FakeElement | null = null;
      listeners: Record<string, Array<(e: unknown) => void>> = {};
      textContent = '';
      disabled = false;
      selected?: string;
      constructor(readonly tag: string) {}
      setAttribute(name: string, value: string) {
        this.attrs[name] = String(value);
        if (name === 'id') byId.set(String(value), this);
      }
      appendChild(child: FakeElement) {
        child.parentNode = this;
        this.children.push(child);
        return child;
      }
      removeChild(child: FakeElement) {
        this.children = this.children.filter((c) => c !== child);
        child.parentNode = null;
        return child;
      }
      addEventListener(type: string, fn: (e: unknown) => void) {
        (this.listeners[type] ??= []).push(fn);
      }
      click() {
        if (!this.disabled) for (const fn of this.listeners.click ?? []) fn({});
      }
      get value(): string {
        return this.selected ?? this.children[0]?.attrs.value ?? '';
      }
      set value(v: string) {
        this.selected = v;
      }
      set innerHTML(_v: string) {
        throw new Error('the bridge must not use innerHTML');
      }
      get isConnected(): boolean {
        if (this === body) return true;
        let n = this.parentNode;
        while (n && n !== body) n = n.parentNode;
        return n === body;
      }
    }
    const body = new FakeElement('body');
    const events: string[] = [];
    const docListeners: Record<string, Array<() => void>> = {};
    const document = {
      currentScript: { src: scriptUrl },
      body,
      createElement: (tag: string) => new FakeElement(tag),
      addEventListener: (type: string, fn: () => void) => (docListeners[type] ??= []).push(fn),
      dispatchEvent: (ev: { type: string }) => {
        events.push(ev.type);
        for (const fn of docListeners[ev.type] ?? []) fn();
        return true;
      },
    };
    class FakeEvent {
      constructor(readonly type: string) {}
    }
    const window: Record<string, any> = {};
    const timer = (fn: () => void, ms?: number) => setTimeout(fn, ms).unref();
    const context = vm.createContext({
      window,
      document,
      fetch,
      setTimeout: timer,
      location: { origin: new URL(scriptUrl).origin },
      Event: FakeEvent,
    });
    return { context, window, document, events, byId };
  }

  it('is served as JavaScript and defines WeixinJSBridge without innerHTML or external resources', async () => {
    const res = await fetch(sb('/jsbridge.js'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/javascript/);
    const src = await res.text();
    expect(() => new vm.Script(src)).not.toThrow();
    expect(src).toContain('getBrandWCPayRequest');
    expect(src).not.toMatch(/innerHTML|https?:\/\//);
  });

  it('runs a full payment: ready event, paySign check, pay sheet, Pay → :ok and a notification; Cancel → :cancel', async () => {
    const src = await (await fetch(sb('/jsbridge.js'))).text();
    const browser = fakeBrowser(sb('/jsbridge.js'));
    const ready = new Promise<void>((resolve) => browser.document.addEventListener('WeixinJSBridgeReady', resolve));
    vm.runInContext(src, browser.context);
    await ready;
    expect(typeof browser.window.WeixinJSBridge.invoke).toBe('function');

    const pay = async (prepayId: string, button: string) => {
      const params: Record<string, string> = {
        appId: cfg.wechat.appId,
        timeStamp: String(nowSeconds()),
        nonceStr: 'n1',
        package: `prepay_id=${prepayId}`,
        signType: 'MD5',
      };
      params.paySign = v2Sign(params, cfg.pay.apiKey, 'MD5');
      const result = new Promise<{ err_msg: string }>((resolve) =>
        browser.window.WeixinJSBridge.invoke('getBrandWCPayRequest', params, resolve),
      );
      await eventually(() => browser.byId.get('sandbox-pay-confirm')?.isConnected === true, 5000, 10);
      expect(browser.byId.get('sandbox-pay-amount')!.textContent).toBe('¥29.90');
      expect(browser.byId.get('sandbox-pay-sheet')!.attrs['data-testid']).toBe('sandbox-pay-sheet');
      browser.byId.get(button)!.click();
      const res = await result;
      expect(browser.byId.get('sandbox-pay-sheet')!.isConnected).toBe(false);
      return res;
    };

    const paid = await placeV2();
    expect(await pay(paid.prepayId, 'sandbox-pay-confirm')).toEqual({ err_msg: 'get_brand_wcpay_request:ok' });
    expect((await v2Call('orderquery', { out_trade_no: paid.outTradeNo })).fields.trade_state).toBe('SUCCESS');
    expect(receiver.on('/notify/v2')).toHaveLength(1);

    const cancelled = await placeV2();
    expect(await pay(cancelled.prepayId, 'sandbox-pay-cancel')).toEqual({ err_msg: 'get_brand_wcpay_request:cancel' });
    const failed = await placeV2();
    expect((await pay(failed.prepayId, 'sandbox-pay-fail')).err_msg).toBe('get_brand_wcpay_request:fail');
    expect((await v2Call('orderquery', { out_trade_no: cancelled.outTradeNo })).fields.trade_state).toBe('NOTPAY');
    expect((await v2Call('orderquery', { out_trade_no: failed.outTradeNo })).fields.trade_state).toBe('PAYERROR');

    // A bad paySign fails without showing the sheet.
    const bad = await placeV2();
    const res = await new Promise<{ err_msg: string; err_desc: string }>((resolve) =>
      browser.window.WeixinJSBridge.invoke(
        'getBrandWCPayRequest',
        { appId: cfg.wechat.appId, timeStamp: '1', nonceStr: 'n', package: `prepay_id=${bad.prepayId}`, signType: 'MD5', paySign: 'WRONG' },
        resolve,
      ),
    );
    expect(res).toEqual({ err_msg: 'get_brand_wcpay_request:fail', err_desc: '支付验证签名失败' });
    expect(browser.byId.get('sandbox-pay-toast')!.textContent).toBe('支付验证签名失败');
  });
});

describe('home page', () => {
  it('is HTML with the member pages through the sandbox OAuth, users and notifications, all escaped', async () => {
    await postJson(sb('/faults'), { push_mode: 'plain' });
    receiver.handler = (r) => (r.path === VERIFY_PATH ? { status: 200, body: '<img src=x onerror=alert(2)>' } : Receiver.defaultHandler(r));
    const token = await accessToken();
    const qr = await createQr(token, {
      expire_seconds: 600,
      action_name: 'QR_STR_SCENE',
      action_info: { scene: { scene_str: '<script>alert(1)</script>' } },
    });
    await postJson(sb('/actions/scan'), { ticket: qr.ticket, openid: 'oSBXhomepage0000000000000001' });

    const res = await fetch(sb(''));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    // The member pages as the account menu opens them: the pages themselves (they start their own OAuth).
    for (const page of ['member.html', 'credits.html', 'credits_info.html']) {
      expect(html).toContain(`data-testid="sandbox-member-link" href="${cfg.http.publicBaseUrl}/wechat/${page}"`);
    }
    expect(html).toContain('oSBXhomepage0000000000000001');
    expect(html).toContain('demo-client-id');
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('qrscene_&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(2)&gt;');
    expect(inlineScripts(html)).toHaveLength(1);
    for (const script of inlineScripts(html)) expect(() => new vm.Script(script)).not.toThrow();
  });

  it('the member link of the home page opens the page, whose own login (authorize with its state) leads to a code the app can exchange', async () => {
    const html = await (await fetch(sb(''))).text();
    const href = /data-testid="sandbox-member-link" href="([^"]*member\.html)"/.exec(html)![1];
    expect(href).toBe(`${cfg.http.publicBaseUrl}/wechat/member.html`);
    const state = 'f'.repeat(32);
    const start = await fetch(`${app.url}/api/v1/auth/wechat/authorize?page=member&state=${state}`, { redirect: 'manual' });
    const url = new URL(start.headers.get('location')!);
    url.hash = '';
    url.searchParams.set('sandbox_openid', OPENID);
    const res = await fetch(url, { redirect: 'manual' });
    const landing = new URL(res.headers.get('location')!);
    expect(landing.origin + landing.pathname).toBe(href);
    expect(landing.searchParams.get('state')).toBe(state);
    const code = landing.searchParams.get('code')!;
    const q = new URLSearchParams({ appid: cfg.wechat.appId, secret: cfg.wechat.secret, code, grant_type: 'authorization_code' });
    expect((await getJson(sb(`/api/sns/oauth2/access_token?${q.toString()}`))).body.openid).toBe(OPENID);
  });

  it('reset clears state and counters', async () => {
    await accessToken();
    await placeV2();
    expect((await getJson(sb('/stats'))).body).toMatchObject({ token_fetches: 1, orders: 1 });
    await postJson(sb('/reset'), {});
    expect((await getJson(sb('/stats'))).body).toMatchObject({ token_fetches: 0, orders: 0, users: 0 });
    expect((await getJson(sb('/orders'))).body.orders).toEqual([]);
  });
});

describe('lifecycle', () => {
  it('stays out of the public OpenAPI document', async () => {
    const doc = (await (await fetch(`${app.url}/docs/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/sandbox'))).toEqual([]);
  });

  it('shutdown cancels slow answers and pending notification retries at once', async () => {
    const other = await startApp({
      WECHAT_SANDBOX: 'true',
      DB_TYPE: 'sqlite',
      SQLITE_PATH: join(tempDir('wx-sandbox-db2-'), 'app.sqlite'),
    });
    const url = (p: string) => `${other.url}/sandbox${p}`;
    // A notification to a port nobody listens on: it fails and schedules retries.
    const params: Fields = {
      appid: other.config.wechat.appId,
      mch_id: other.config.pay.mchId,
      nonce_str: 'n',
      body: 'x',
      out_trade_no: newOutTradeNo(),
      total_fee: 1,
      spbill_create_ip: '127.0.0.1',
      notify_url: 'http://127.0.0.1:9/notify',
      trade_type: 'JSAPI',
      openid: OPENID,
    };
    params.sign = v2Sign(params, other.config.pay.apiKey, 'MD5');
    const placed = await parseWechatXml(
      await (
        await fetch(url('/pay/pay/unifiedorder'), { method: 'POST', headers: { 'Content-Type': 'text/xml' }, body: buildXml(params) })
      ).text(),
    );
    const paid = await postJson(url('/actions/pay'), { prepay_id: placed.prepay_id, result: 'success' });
    expect(paid.body.notify.deliveries[0].state).toBe('pending');
    await postJson(url('/faults'), { pay: 'slow', slow_ms: 30_000 });
    const slow = fetch(url('/pay/pay/orderquery'), { method: 'POST', headers: { 'Content-Type': 'text/xml' }, body: '<xml/>' });
    const slowOutcome = slow.then(
      () => 'answered',
      () => 'dropped',
    );
    await sleep(200);
    const started = Date.now();
    await other.close();
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await slowOutcome).toBe('dropped');
  });
});

describe('production', () => {
  it('the sandbox cannot be constructed with NODE_ENV=production', async () => {
    const prod = { ...cfg, env: 'production' } as AppConfig;
    expect(() => new SandboxModule(prod)).toThrow(/production/);
    expect(() => new SandboxStore(prod)).toThrow(/production/);
    await expect(
      Test.createTestingModule({ imports: [ConfigModule.forRoot(prod), CommonModule.forRoot(), SandboxModule] }).compile(),
    ).rejects.toThrow(/production/);
    // And the configuration refuses to switch it on there in the first place.
    expect(() => loadConfig({ NODE_ENV: 'production', WECHAT_SANDBOX: 'true' }, { cwd: tempDir() })).toThrow(/WECHAT_SANDBOX/);
  });
});
