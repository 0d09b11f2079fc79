import { readFileSync } from 'node:fs';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { join } from 'node:path';
import { AppConfig } from '../../src/config/app-config';
import { randomNonce } from '../../src/wechat/nonce';
import { v2Sign, V2SignType } from '../../src/wechat/pay/crypto/v2-sign';
import { buildV3Authorization } from '../../src/wechat/pay/crypto/v3-sign';
import { V3SignatureVerifier } from '../../src/wechat/pay/crypto/v3-verifier';
import { buildXml, parseWechatXml } from '../../src/wechat/xml';
import { eventually, startApp, tempDir, TestApp } from '../setup/test-app';

/**
 * What the sandbox suites of this folder share: an app with the sandbox on, a receiver playing the
 * app's callback endpoints, and clients for WeChat's and WeChat Pay's APIs played from the
 * merchant's side with the pure protocol code. A suite calls `useSandboxApp()` once at its top.
 */

// ---------------------------------------------------------------------------------------------
// A local HTTP receiver playing the app's callback endpoints (pushes and pay notifications).

export interface Received {
  method: string;
  path: string;
  query: URLSearchParams;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export const VERIFY_PATH = '/api/v1/auth/wechat/verify';
export const SUCCESS_XML = '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>';
export const FAIL_XML = '<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[not yet]]></return_msg></xml>';

export class Receiver {
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

export const receiver = new Receiver();
/** The suite's app, its config and keys: set by useSandboxApp's beforeAll (importers see the live bindings). */
export let app: TestApp;
export let cfg: AppConfig;
export let merchantKey: string;
export let platformPublicPem: string;

export const OPENID = 'oSBXtestpayer000000000000001';
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const nowSeconds = () => Math.floor(Date.now() / 1000);
export const sb = (path: string) => `${app.url}/sandbox${path}`;

export async function getJson(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

export async function postJson(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

export async function accessToken(): Promise<string> {
  const q = new URLSearchParams({ grant_type: 'client_credential', appid: cfg.wechat.appId, secret: cfg.wechat.secret });
  const { body } = await getJson(sb(`/api/cgi-bin/token?${q.toString()}`));
  expect(typeof body.access_token).toBe('string');
  return body.access_token as string;
}

export async function createQr(token: string, body: unknown): Promise<any> {
  return (await postJson(sb(`/api/cgi-bin/qrcode/create?access_token=${encodeURIComponent(token)}`), body)).body;
}

// --- WeChat Pay v2, played from the merchant side with the pure protocol code ---

export type Fields = Record<string, string | number>;

export async function v2Call(endpoint: string, fields: Fields, opts: { signType?: V2SignType; key?: string; raw?: string } = {}) {
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

export function newOutTradeNo(): string {
  return `ORD${Date.now()}${randomNonce(6).toUpperCase()}`;
}

export async function placeV2(overrides: Fields = {}, signType: V2SignType = 'MD5') {
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

export interface V3Options {
  signPath?: string;
  timestamp?: number;
  serialNo?: string;
  signedBody?: string;
  tamperSignature?: boolean;
  noAuth?: boolean;
}

export async function v3Call(method: 'GET' | 'POST', path: string, body?: unknown, opts: V3Options = {}) {
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
export function inlineScripts(html: string): string[] {
  return [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
}

export function platformVerifier(): V3SignatureVerifier {
  const v = new V3SignatureVerifier();
  v.addPublicKey(cfg.pay.publicKeyId, platformPublicPem);
  return v;
}

export function verifyV3Headers(verifier: V3SignatureVerifier, headers: Headers | IncomingHttpHeaders, body: string | Buffer) {
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

export function jsapiBody(overrides: Record<string, unknown> = {}) {
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

/**
 * Registers the suite's hooks: one app with the sandbox on (SQLite) whose pushes and notifications
 * go to `receiver`, and a clean sandbox and receiver before every test.
 */
export function useSandboxApp(): void {
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
}
