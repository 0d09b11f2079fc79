import { X509Certificate } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Tenpay from 'tenpay';
import { Formatter, Hash, Rsa, Transformer } from 'wechatpay-axios-plugin';
import { freePort, startAppOnFreshDb, TestApp } from '../setup/test-app';
import { call, Json } from '../support/api-client';
import { payInSandbox, placeOrder } from '../support/orders';
import { SandboxKeyFiles, sandboxKeyFiles } from './support/sdk-peers';
import { uniq } from '../support/unique';

/**
 * The service's own outgoing WeChat Pay requests, recorded on the wire and checked with published
 * SDKs (issue 16): v2 `sign` with tenpay and wechatpay-axios-plugin, v3 `Authorization` with the
 * plugin's `Formatter.request` + `Rsa.verify`, and the field formats WeChat Pay insists on. The app
 * runs in the "hosts" setup: every WeChat base URL points at the sandbox hosts listener (the
 * official-account client directly, WeChat Pay through the recorder), so its own clients are proven
 * to work there as they do on the /sandbox mount.
 */

interface Recorded {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** Forwards every request to `target` unchanged and keeps a copy. */
class Recorder {
  readonly requests: Recorded[] = [];
  private server!: Server;

  constructor(private readonly target: () => string) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.forward(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
  }

  private async forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    this.requests.push({ method: req.method!, path: req.url!, headers: req.headers, body: body.toString('utf8') });
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k)),
    ) as Record<string, string>;
    const answer = await fetch(this.target() + req.url, { method: req.method, headers, body: body.length ? body : undefined });
    const out = Buffer.from(await answer.arrayBuffer());
    const back = Object.fromEntries(
      [...answer.headers.entries()].filter(([k]) => !['content-length', 'transfer-encoding', 'connection', 'content-encoding'].includes(k)),
    );
    res.writeHead(answer.status, back).end(out);
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }

  find(path: RegExp): Recorded[] {
    return this.requests.filter((r) => path.test(r.path));
  }
}

/** WeChat Pay's own notify_url pattern (its PARAM_ERROR message quotes it). */
const NOTIFY_URL = new RegExp(String.raw`^https?://([^\s/?#\[\]\@]+\@)?([^\s/?#\@:]+)(?::\d{2,5})?([^\s?#\[\]]*)$`);
const OUT_TRADE_NO = /^[0-9A-Za-z_\-|*]{6,32}$/;

describe.each([
  ['v2', 'MD5'],
  ['v2', 'HMAC-SHA256'],
  ['v3', 'MD5'],
] as const)("the service's WeChat Pay %s requests (%s) checked with the SDKs, all base URLs on the hosts listener", (version, signType) => {
  let app: TestApp;
  let keys: SandboxKeyFiles;
  let hosts: string;
  const recorder = new Recorder(() => hosts);

  beforeAll(async () => {
    await recorder.start();
    const port = await freePort();
    hosts = `http://127.0.0.1:${port}`;
    app = await startAppOnFreshDb('sqlite', {
      WECHAT_SANDBOX: 'true',
      SANDBOX_HOSTS_PORT: String(port),
      WECHAT_API_BASE: hosts,
      WECHAT_OAUTH_BASE: hosts,
      WECHAT_MP_BASE: hosts,
      WECHAT_PAY_BASE: recorder.url,
      WECHAT_PAY_VERSION: version,
      WECHAT_PAY_SIGN_TYPE: signType,
    });
    keys = sandboxKeyFiles(app.config);
  });

  afterAll(async () => {
    await app?.close();
    await recorder.stop();
  });

  it('OAuth login, a desktop QR code, create-order, a pending query, the sandbox payment: all through the hosts listener', async () => {
    const qr = await call(app, 'POST', '/api/v1/auth/wechat/qrcode', { body: { client_id: uniq('desk-') } });
    expect(qr.body.qrcode_url).toMatch(new RegExp(`^${hosts}/cgi-bin/showqrcode\\?ticket=`));
    expect((await fetch(qr.body.qrcode_url)).status).toBe(200);

    const order = await placeOrder(app, uniq('oWire'));
    const { token, orderNo } = order;
    expect((await call(app, 'GET', `/api/v1/payment/orders/${orderNo}`, { token })).body.order.status).toBe('pending');
    await payInSandbox(app, order);

    const placed = recorder.find(version === 'v2' ? /^\/pay\/unifiedorder$/ : /^\/v3\/pay\/transactions\/jsapi$/);
    const queried = recorder.find(version === 'v2' ? /^\/pay\/orderquery$/ : /^\/v3\/pay\/transactions\/out-trade-no\//);
    expect([placed.length, queried.length >= 1]).toEqual([1, true]);
    if (version === 'v2') checkV2(placed[0], queried, orderNo);
    else checkV3(placed[0], queried, orderNo);
    checkPaySign(order.params);
  });

  /** The JSAPI parameters handed to the page, as the SDKs compute them (v2: the configured sign type; v3: RSA). */
  function checkPaySign(params: Record<string, string>) {
    const { paySign, ...unsigned } = params;
    if (version === 'v2') {
      expect(unsigned.signType).toBe(signType);
      const tenpay = new Tenpay({ appid: app.config.wechat.appId, mchid: app.config.pay.mchId, partnerKey: app.config.pay.apiKey });
      expect(tenpay._getSign(unsigned, signType)).toBe(paySign);
    } else {
      expect(unsigned.signType).toBe('RSA');
      const message = Formatter.joinedByLineFeed(unsigned.appId, unsigned.timeStamp, unsigned.nonceStr, unsigned.package);
      expect(Rsa.verify(message, paySign, keys.merchantCertificate)).toBe(true);
    }
  }

  function checkV2(placed: Recorded, queried: Recorded[], orderNo: string) {
    const tenpay = new Tenpay({ appid: app.config.wechat.appId, mchid: app.config.pay.mchId, partnerKey: app.config.pay.apiKey });
    for (const r of [placed, ...queried]) {
      expect(r.method).toBe('POST');
      const fields = Transformer.toObject(r.body) as Record<string, string>;
      // MD5 is the default WeChat's examples leave undeclared; HMAC-SHA256 must be declared.
      expect(fields.sign_type).toBe(signType === 'MD5' ? undefined : 'HMAC-SHA256');
      expect(fields.sign).toBe(Hash.sign(signType, fields, app.config.pay.apiKey));
      expect(fields.sign).toBe(tenpay._getSign(fields, signType));
      expect(fields.sign).toMatch(signType === 'MD5' ? /^[0-9A-F]{32}$/ : /^[0-9A-F]{64}$/);
      expect(fields).toMatchObject({
        appid: app.config.wechat.appId,
        mch_id: app.config.pay.mchId,
        out_trade_no: orderNo,
        nonce_str: expect.stringMatching(/^[0-9A-Za-z]{1,32}$/),
      });
    }
    const f = Transformer.toObject(placed.body) as Record<string, string>;
    expect(f).toMatchObject({
      trade_type: 'JSAPI',
      total_fee: '990',
      spbill_create_ip: '127.0.0.1',
      time_expire: expect.stringMatching(/^\d{14}$/),
    });
    expect(f.fee_type ?? 'CNY').toBe('CNY'); // optional, CNY by default
    expect(f.out_trade_no).toMatch(OUT_TRADE_NO);
    expect(Buffer.byteLength(f.body, 'utf8')).toBeLessThanOrEqual(128);
    expect(f.notify_url).toMatch(NOTIFY_URL);
  }

  function checkV3(placed: Recorded, queried: Recorded[], orderNo: string) {
    const serial = new X509Certificate(keys.merchantCertificate).serialNumber.toUpperCase();
    for (const r of [placed, ...queried]) {
      const auth = /^WECHATPAY2-SHA256-RSA2048 (.+)$/.exec(String(r.headers.authorization));
      expect(auth).not.toBeNull();
      const parts = Object.fromEntries(auth![1].split(',').map((kv) => /^(\w+)="([^"]*)"$/.exec(kv.trim())!.slice(1, 3)));
      expect(Object.keys(parts).sort()).toEqual(['mchid', 'nonce_str', 'serial_no', 'signature', 'timestamp']);
      expect(parts.mchid).toBe(app.config.pay.mchId);
      expect(parts.serial_no.toUpperCase()).toBe(serial);
      expect(Math.abs(Number(parts.timestamp) - Formatter.timestamp())).toBeLessThan(300);
      expect(
        Rsa.verify(
          Formatter.request(r.method, r.path, parts.timestamp, parts.nonce_str, r.body),
          parts.signature,
          keys.merchantCertificate,
        ),
      ).toBe(true);
      expect(r.headers['content-type'] ?? 'application/json').toMatch(/^application\/json/);
      expect(r.headers.accept).toMatch(/application\/json/);
    }
    for (const r of queried)
      expect([r.method, r.path]).toEqual(['GET', `/v3/pay/transactions/out-trade-no/${orderNo}?mchid=${app.config.pay.mchId}`]);
    const body = JSON.parse(placed.body) as Json;
    expect(body).toMatchObject({
      appid: app.config.wechat.appId,
      mchid: app.config.pay.mchId,
      out_trade_no: orderNo,
      amount: { total: 990, currency: 'CNY' },
      payer: { openid: expect.any(String) },
    });
    expect(body.time_expire).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/);
    expect(Buffer.byteLength(body.description, 'utf8')).toBeLessThanOrEqual(127);
    expect(body.out_trade_no).toMatch(OUT_TRADE_NO);
    expect(body.notify_url).toMatch(NOTIFY_URL);
  }
});
