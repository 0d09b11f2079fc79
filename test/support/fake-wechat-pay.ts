import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import {
  createCipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createSign,
  createVerify,
  generateKeyPairSync,
  KeyObject,
  randomBytes,
  webcrypto,
} from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { gzipSync } from 'node:zlib';

/**
 * A small stand-in for WeChat Pay (v2 XML and APIv3 JSON) for the pay-client e2e suite. It checks
 * the merchant's v2 `sign` and v3 `Authorization` and signs its answers as WeChat does, written
 * independently of src/ (own XML, signing and AES-GCM code) so that a shared bug cannot hide.
 * Knobs: a bad answer signature, down (connection refused), slow, refuse the next call, which key
 * signs v3 answers. It is not the product's sandbox (src/sandbox/).
 */

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export interface PlatformCertificate {
  serial: string;
  pem: string;
  privateKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
}

/** A self-signed RSA-2048 "platform certificate" with the given hex serial (first digit < 8 keeps it positive). */
export async function createPlatformCertificate(
  serial: string,
  notBefore = new Date(Date.now() - 3600_000),
  notAfter = new Date(Date.now() + 5 * 86400_000),
): Promise<PlatformCertificate> {
  const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial,
    name: 'CN=Tenpay.com Root CA Test, O=WeChat Pay Fake',
    notBefore,
    notAfter,
    signingAlgorithm: algorithm,
    keys,
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return {
    serial: serial.toUpperCase(),
    pem: cert.toString('pem'),
    privateKey: createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' }),
    notBefore,
    notAfter,
  };
}

export interface FakeWechatPayOptions {
  appId: string;
  mchId: string;
  apiKey: string;
  apiV3Key: string;
  merchantPublicKey: KeyObject;
  merchantSerial: string;
  /** The WeChat Pay public key pair and its id (`PUB_KEY_ID_…`). */
  platformPublicKeyId: string;
  platformPrivateKey: KeyObject;
  certificates: PlatformCertificate[];
  /** Time source for signatures and timestamp checks (defaults to Date.now). */
  nowSeconds?: () => number;
  /**
   * Serve HTTPS, asking every client for a certificate (as api.mch.weixin.qq.com does on
   * `/secapi/*`): `ca` is what client certificates must chain to. `secapi/pay/refund` is refused
   * without a valid one.
   */
  tls?: { key: string; cert: string; ca: string };
}

export type FakeRefundState = 'PROCESSING' | 'SUCCESS' | 'CLOSED' | 'ABNORMAL';

export interface FakeRefund {
  refundNo: string;
  orderNo: string;
  refundId: string;
  refundFen: number;
  totalFen: number;
  state: FakeRefundState;
  successAt?: number;
  /** The subject CN of the client certificate the refund request presented (v2 over TLS). */
  clientCertCn?: string;
}

export type TradeState = 'NOTPAY' | 'SUCCESS' | 'CLOSED';

export interface FakeOrder {
  orderNo: string;
  prepayId: string;
  totalFen: number;
  openid: string;
  state: TradeState;
  transactionId?: string;
  paidAt?: number;
  request: Record<string, unknown>;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** v2: the XML fields; v3: the JSON body. */
  body: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
}

export interface Knobs {
  /** Answers carry a signature that does not verify. */
  badResponseSignature: boolean;
  /** Delay before answering, ms. */
  slowMs: number;
  /** Which key signs v3 answers: 'publicKey' or a certificate serial. */
  v3SignWith: string;
  /** Which key signs the `/v3/certificates` answer (default: the first certificate, as WeChat does). */
  certificatesSignWith?: string;
  /** The next business call is refused with this code (v2 result FAIL / v3 4xx). */
  refuseNext?: { code: string; message: string; httpStatus?: number };
}

const SHANGHAI_MS = 8 * 3600_000;

export class FakeWechatPay {
  readonly orders = new Map<string, FakeOrder>();
  readonly refunds = new Map<string, FakeRefund>();
  /** Trade bill text per `YYYY-MM-DD`, set by the test; a date without one has no bill. */
  readonly bills = new Map<string, string>();
  readonly requests: RecordedRequest[] = [];
  knobs: Knobs = { badResponseSignature: false, slowMs: 0, v3SignWith: 'publicKey' };
  /** Certificates no longer listed by `/v3/certificates` but still usable for signing (rotation). */
  readonly retired: PlatformCertificate[] = [];
  private server: Server;
  private port = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly junkKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

  private constructor(readonly options: FakeWechatPayOptions) {
    this.server = this.createServer();
  }

  static async start(options: FakeWechatPayOptions): Promise<FakeWechatPay> {
    const fake = new FakeWechatPay(options);
    await fake.listen(0);
    return fake;
  }

  get url(): string {
    return `${this.options.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  /** An order that was placed and paid (for refund tests that skip the payment). */
  seedPaidOrder(orderNo: string, totalFen: number, openid: string): FakeOrder {
    const order = this.newOrder(orderNo, totalFen, openid, {});
    return this.pay(order.orderNo);
  }

  /** WeChat finishes a refund. */
  finishRefund(refundNo: string, state: Exclude<FakeRefundState, 'PROCESSING'>): FakeRefund {
    const refund = this.refunds.get(refundNo);
    if (!refund) throw new Error(`no refund ${refundNo}`);
    refund.state = state;
    if (state === 'SUCCESS') refund.successAt = this.now();
    return refund;
  }

  now(): number {
    return this.options.nowSeconds ? this.options.nowSeconds() : Math.floor(Date.now() / 1000);
  }

  /** Requests received on a path (query excluded). */
  count(path: string): number {
    return this.requests.filter((r) => r.path === path).length;
  }

  last(path: string): RecordedRequest | undefined {
    return [...this.requests].reverse().find((r) => r.path === path);
  }

  /** The user pays the order. */
  pay(orderNo: string): FakeOrder {
    const order = this.orders.get(orderNo);
    if (!order) throw new Error(`no order ${orderNo}`);
    order.state = 'SUCCESS';
    order.transactionId = `42000${randomBytes(10).toString('hex').slice(0, 23)}`;
    order.paidAt = this.now();
    return order;
  }

  /** WeChat rotates: the certificate leaves the download list but can still sign. */
  retire(serial: string): void {
    const index = this.options.certificates.findIndex((c) => c.serial === serial);
    if (index < 0) throw new Error(`no certificate ${serial}`);
    this.retired.push(...this.options.certificates.splice(index, 1));
  }

  /** Stops listening: the port refuses connections until `up()`. */
  async down(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    // Let clients see their pooled keep-alive sockets close, so the next attempt is a refused connect.
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  async up(): Promise<void> {
    this.server = this.createServer();
    await this.listen(this.port);
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.server.listening) await this.down();
  }

  /** A TRANSACTION.SUCCESS notification for a paid order, signed with `signWith` (public key or a certificate serial). */
  v3Notification(orderNo: string, signWith: string): { headers: Record<string, string>; body: Buffer } {
    const order = this.orders.get(orderNo);
    if (!order || order.state !== 'SUCCESS' || order.paidAt === undefined) throw new Error(`order ${orderNo} is not paid`);
    const transaction = {
      appid: this.options.appId,
      mchid: this.options.mchId,
      out_trade_no: order.orderNo,
      transaction_id: order.transactionId,
      trade_type: 'JSAPI',
      trade_state: 'SUCCESS',
      trade_state_desc: '支付成功',
      bank_type: 'OTHERS',
      success_time: rfc3339(order.paidAt),
      payer: { openid: order.openid },
      amount: { total: order.totalFen, payer_total: order.totalFen, currency: 'CNY', payer_currency: 'CNY' },
    };
    const nonce = randomBytes(6).toString('hex');
    const body = Buffer.from(
      JSON.stringify({
        id: randomBytes(16).toString('hex'),
        create_time: rfc3339(this.now()),
        resource_type: 'encrypt-resource',
        event_type: 'TRANSACTION.SUCCESS',
        summary: '支付成功',
        resource: {
          original_type: 'transaction',
          algorithm: 'AEAD_AES_256_GCM',
          ciphertext: this.encrypt(JSON.stringify(transaction), nonce, 'transaction'),
          associated_data: 'transaction',
          nonce,
        },
      }),
    );
    return { headers: this.v3SignatureHeaders(body, signWith), body };
  }

  // ---- HTTP -------------------------------------------------------------------------------------

  private createServer(): Server {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const answer = () => {
          if (res.destroyed) return;
          try {
            this.route(req, Buffer.concat(chunks), res);
          } catch (err) {
            res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err));
          }
        };
        if (this.knobs.slowMs > 0) {
          const timer = setTimeout(() => {
            this.timers.delete(timer);
            answer();
          }, this.knobs.slowMs);
          this.timers.add(timer);
        } else answer();
      });
    };
    const tls = this.options.tls;
    return tls
      ? createTlsServer({ key: tls.key, cert: tls.cert, ca: tls.ca, requestCert: true, rejectUnauthorized: false }, handler)
      : createServer(handler);
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  private route(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    if ((url.pathname.startsWith('/pay/') || url.pathname.startsWith('/secapi/')) && method === 'POST')
      return this.v2(url.pathname, req, body, res);
    if (url.pathname.startsWith('/v3/')) return this.v3(method, url, req, body, res);
    res.writeHead(404).end();
  }

  // ---- v2 ---------------------------------------------------------------------------------------

  private v2(path: string, req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const { appId, mchId } = this.options;
    const fields = parseFlatXml(body.toString('utf8'));
    this.requests.push({ method: 'POST', path, body: fields ?? {}, headers: req.headers });
    const fail = (msg: string) => this.sendXml(res, { return_code: 'FAIL', return_msg: msg });
    if (!fields) return fail('XML格式错误');
    const signType = fields.sign_type || 'MD5';
    if (signType !== 'MD5' && signType !== 'HMAC-SHA256') return fail('签名类型错误');
    if (!fields.sign || fields.sign !== this.v2Sign(fields, signType)) return fail('签名错误');
    if (fields.appid !== appId || fields.mch_id !== mchId) return fail('appid和mch_id不匹配');
    if (!fields.nonce_str || fields.nonce_str.length > 32) return fail('nonce_str参数格式错误');

    const reply = (result: Record<string, string>) =>
      this.sendXml(
        res,
        this.v2Signed(
          { return_code: 'SUCCESS', return_msg: 'OK', appid: appId, mch_id: mchId, nonce_str: randomBytes(16).toString('hex'), ...result },
          signType,
        ),
      );
    const refuse = (code: string, des: string) => reply({ result_code: 'FAIL', err_code: code, err_code_des: des });
    if (this.knobs.refuseNext) {
      const { code, message } = this.knobs.refuseNext;
      this.knobs.refuseNext = undefined;
      return refuse(code, message);
    }
    const orderNo = fields.out_trade_no ?? '';
    const order = this.orders.get(orderNo);

    if (path === '/pay/unifiedorder') {
      for (const name of ['body', 'out_trade_no', 'total_fee', 'spbill_create_ip', 'notify_url', 'trade_type', 'openid', 'time_expire']) {
        if (!fields[name]) return fail(`缺少参数${name}`);
      }
      if (!/^[1-9][0-9]*$/.test(fields.total_fee)) return fail('total_fee参数格式错误');
      if (fields.trade_type !== 'JSAPI') return fail('trade_type参数错误');
      if (!/^\d{14}$/.test(fields.time_expire)) return fail('time_expire参数格式错误');
      if (order?.state === 'SUCCESS') return refuse('ORDERPAID', '该订单已支付');
      if (order?.state === 'CLOSED') return refuse('ORDERCLOSED', '该订单已关');
      const created = order ?? this.newOrder(orderNo, Number(fields.total_fee), fields.openid, fields);
      return reply({ result_code: 'SUCCESS', trade_type: 'JSAPI', prepay_id: created.prepayId });
    }
    if (path === '/pay/orderquery') {
      if (!order) return refuse('ORDERNOTEXIST', '订单不存在');
      const paid = order.state === 'SUCCESS';
      return reply({
        result_code: 'SUCCESS',
        out_trade_no: order.orderNo,
        trade_state: order.state,
        trade_state_desc: paid ? '支付成功' : order.state === 'CLOSED' ? '订单已关闭' : '订单未支付',
        ...(paid
          ? {
              openid: order.openid,
              is_subscribe: 'Y',
              trade_type: 'JSAPI',
              bank_type: 'OTHERS',
              total_fee: String(order.totalFen),
              cash_fee: String(order.totalFen),
              transaction_id: order.transactionId ?? '',
              time_end: compactShanghai(order.paidAt ?? 0),
            }
          : {}),
      });
    }
    if (path === '/secapi/pay/refund') {
      // WeChat authenticates the merchant by TLS client certificate here, before anything else.
      const socket = req.socket as TLSSocket;
      const clientCertCn = this.options.tls ? (socket.authorized ? String(socket.getPeerCertificate()?.subject?.CN ?? '') : '') : undefined;
      if (this.options.tls && !clientCertCn) return fail('证书验证失败');
      for (const name of ['out_refund_no', 'total_fee', 'refund_fee']) {
        if (!fields[name]) return fail(`缺少参数${name}`);
      }
      if (!order) return refuse('ORDERNOTEXIST', '订单不存在');
      if (order.state !== 'SUCCESS') return refuse('TRADE_STATE_ERROR', '订单状态错误');
      const known = this.refunds.get(fields.out_refund_no);
      if (known && (known.refundFen !== Number(fields.refund_fee) || known.orderNo !== orderNo))
        return refuse('INVALID_REQUEST', '订单金额或退款金额与之前请求不一致');
      if (Number(fields.total_fee) !== order.totalFen) return refuse('PARAM_ERROR', 'total_fee与订单金额不一致');
      const refund = known ?? this.newRefund(fields.out_refund_no, order, Number(fields.refund_fee), clientCertCn);
      return reply({
        result_code: 'SUCCESS',
        transaction_id: order.transactionId ?? '',
        out_trade_no: order.orderNo,
        out_refund_no: refund.refundNo,
        refund_id: refund.refundId,
        refund_fee: String(refund.refundFen),
        total_fee: String(order.totalFen),
        cash_fee: String(order.totalFen),
      });
    }
    if (path === '/pay/refundquery') {
      const refund = this.refunds.get(fields.out_refund_no ?? '');
      if (!refund) return refuse('REFUNDNOTEXIST', '退款订单查询失败');
      const v2State = { PROCESSING: 'PROCESSING', SUCCESS: 'SUCCESS', CLOSED: 'REFUNDCLOSE', ABNORMAL: 'CHANGE' }[refund.state];
      return reply({
        result_code: 'SUCCESS',
        out_trade_no: refund.orderNo,
        total_fee: String(refund.totalFen),
        refund_count: '1',
        out_refund_no_0: refund.refundNo,
        refund_id_0: refund.refundId,
        refund_fee_0: String(refund.refundFen),
        refund_status_0: v2State,
        ...(refund.successAt ? { refund_success_time_0: shanghaiIso(refund.successAt).replace('T', ' ') } : {}),
      });
    }
    if (path === '/pay/downloadbill') {
      const date = /^(\d{4})(\d{2})(\d{2})$/.exec(fields.bill_date ?? '');
      if (!date) return this.sendXml(res, { return_code: 'FAIL', return_msg: 'invalid bill_date', error_code: '20001' });
      const text = this.bills.get(`${date[1]}-${date[2]}-${date[3]}`);
      if (text === undefined) return this.sendXml(res, { return_code: 'FAIL', return_msg: 'No Bill Exist', error_code: '20002' });
      res.writeHead(200, { 'content-type': 'text/plain;charset=utf-8' }).end(text);
      return;
    }
    if (path === '/pay/closeorder') {
      if (!order) return refuse('ORDERNOTEXIST', '订单不存在');
      if (order.state === 'SUCCESS') return refuse('ORDERPAID', '订单已支付，不能发起关单');
      if (order.state === 'CLOSED') return refuse('ORDERCLOSED', '订单已关闭，无需继续关单');
      order.state = 'CLOSED';
      return reply({ result_code: 'SUCCESS', result_msg: 'OK' });
    }
    return fail('未知接口');
  }

  private v2Sign(fields: Record<string, string>, signType: string, key = this.options.apiKey): string {
    const text = `${Object.keys(fields)
      .filter((k) => k !== 'sign' && fields[k] !== '')
      .sort()
      .map((k) => `${k}=${fields[k]}`)
      .join('&')}&key=${key}`;
    const digest =
      signType === 'HMAC-SHA256' ? createHmac('sha256', key).update(text).digest('hex') : createHash('md5').update(text).digest('hex');
    return digest.toUpperCase();
  }

  /** Like WeChat: signed with the request's sign type, which the answer does not repeat. */
  private v2Signed(fields: Record<string, string>, signType: string): Record<string, string> {
    const sign = this.knobs.badResponseSignature
      ? this.v2Sign(fields, signType, 'not-the-merchant-api-key-00000000')
      : this.v2Sign(fields, signType);
    return { ...fields, sign };
  }

  private sendXml(res: ServerResponse, fields: Record<string, string>): void {
    const xml = `<xml>${Object.entries(fields)
      .map(([k, v]) => `<${k}><![CDATA[${v}]]></${k}>`)
      .join('')}</xml>`;
    res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(xml);
  }

  // ---- v3 ---------------------------------------------------------------------------------------

  private v3(method: string, url: URL, req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const path = url.pathname;
    let json: Record<string, unknown> = {};
    if (body.length > 0) {
      try {
        json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      } catch {
        return this.sendJson(res, 400, { code: 'PARAM_ERROR', message: '请求体不是合法的JSON' });
      }
    }
    this.requests.push({ method, path, body: json, headers: req.headers });
    const authError = this.checkAuthorization(method, url.pathname + url.search, req.headers.authorization, body);
    if (authError) return this.sendJson(res, 401, { code: 'SIGN_ERROR', message: authError });

    if (method === 'GET' && path === '/v3/certificates') {
      const data = this.options.certificates.map((c) => {
        const nonce = randomBytes(6).toString('hex');
        return {
          serial_no: c.serial,
          effective_time: rfc3339(Math.floor(c.notBefore.getTime() / 1000)),
          expire_time: rfc3339(Math.floor(c.notAfter.getTime() / 1000)),
          encrypt_certificate: {
            algorithm: 'AEAD_AES_256_GCM',
            nonce,
            associated_data: 'certificate',
            ciphertext: this.encrypt(c.pem, nonce, 'certificate'),
          },
        };
      });
      return this.sendJson(res, 200, { data }, this.knobs.certificatesSignWith ?? this.options.certificates[0]?.serial);
    }
    if (this.knobs.refuseNext) {
      const { code, message, httpStatus } = this.knobs.refuseNext;
      this.knobs.refuseNext = undefined;
      return this.sendJson(res, httpStatus ?? 400, { code, message });
    }
    if (method === 'POST' && path === '/v3/pay/transactions/jsapi') return this.v3Jsapi(json, res);
    if (path.startsWith('/v3/refund/domestic/refunds') || path.startsWith('/v3/bill') || path === '/v3/billdownload/file') {
      return this.v3RefundsAndBills(method, url, json, res);
    }

    const match = /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)(\/close)?$/.exec(path);
    if (!match) return this.sendJson(res, 404, { code: 'NOT_FOUND', message: '接口不存在' });
    const orderNo = decodeURIComponent(match[1]);
    const order = this.orders.get(orderNo);
    if (method === 'GET' && !match[2]) {
      if (url.searchParams.get('mchid') !== this.options.mchId)
        return this.sendJson(res, 400, { code: 'PARAM_ERROR', message: 'mchid与订单不匹配' });
      if (!order) return this.sendJson(res, 404, { code: 'ORDER_NOT_EXIST', message: '订单不存在' });
      const paid = order.state === 'SUCCESS';
      return this.sendJson(res, 200, {
        appid: this.options.appId,
        mchid: this.options.mchId,
        out_trade_no: order.orderNo,
        trade_state: order.state,
        trade_state_desc: paid ? '支付成功' : '订单未支付',
        ...(paid
          ? {
              transaction_id: order.transactionId,
              trade_type: 'JSAPI',
              bank_type: 'OTHERS',
              success_time: rfc3339(order.paidAt ?? 0),
              payer: { openid: order.openid },
              amount: { total: order.totalFen, payer_total: order.totalFen, currency: 'CNY', payer_currency: 'CNY' },
            }
          : { amount: { payer_currency: 'CNY' } }),
      });
    }
    if (method === 'POST' && match[2]) {
      if (json.mchid !== this.options.mchId) return this.sendJson(res, 400, { code: 'PARAM_ERROR', message: 'mchid错误' });
      if (!order) return this.sendJson(res, 404, { code: 'ORDER_NOT_EXIST', message: '订单不存在' });
      if (order.state === 'SUCCESS') return this.sendJson(res, 400, { code: 'ORDERPAID', message: '订单已支付' });
      if (order.state === 'CLOSED') return this.sendJson(res, 400, { code: 'ORDER_CLOSED', message: '订单已关闭' });
      order.state = 'CLOSED';
      return this.sendSigned(res, 204, Buffer.alloc(0));
    }
    return this.sendJson(res, 405, { code: 'METHOD_NOT_ALLOWED', message: '方法不允许' });
  }

  private v3Jsapi(json: Record<string, unknown>, res: ServerResponse): void {
    const amount = (json.amount ?? {}) as Record<string, unknown>;
    const payer = (json.payer ?? {}) as Record<string, unknown>;
    const scene = (json.scene_info ?? {}) as Record<string, unknown>;
    if (json.appid !== this.options.appId || json.mchid !== this.options.mchId) {
      return this.sendJson(res, 400, { code: 'APPID_MCHID_NOT_MATCH', message: 'appid和mch_id不匹配' });
    }
    const orderNo = json.out_trade_no;
    const missing = [
      typeof json.description === 'string' && json.description,
      typeof orderNo === 'string' && orderNo,
      typeof json.notify_url === 'string' && json.notify_url,
      typeof json.time_expire === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/.test(json.time_expire),
      Number.isInteger(amount.total) && (amount.total as number) > 0,
      typeof payer.openid === 'string' && payer.openid,
      typeof scene.payer_client_ip === 'string' && scene.payer_client_ip,
    ].some((ok) => !ok);
    if (missing || typeof orderNo !== 'string') return this.sendJson(res, 400, { code: 'PARAM_ERROR', message: '参数错误' });
    const order = this.orders.get(orderNo);
    if (order?.state === 'SUCCESS') return this.sendJson(res, 400, { code: 'ORDERPAID', message: '该订单已支付' });
    const created = order ?? this.newOrder(orderNo, amount.total as number, payer.openid as string, json);
    return this.sendJson(res, 200, { prepay_id: created.prepayId });
  }

  private v3RefundsAndBills(method: string, url: URL, json: Record<string, unknown>, res: ServerResponse): void {
    const path = url.pathname;
    const refundView = (r: FakeRefund) => ({
      refund_id: r.refundId,
      out_refund_no: r.refundNo,
      out_trade_no: r.orderNo,
      transaction_id: this.orders.get(r.orderNo)?.transactionId,
      channel: 'ORIGINAL',
      status: r.state,
      create_time: rfc3339(this.now()),
      ...(r.successAt ? { success_time: rfc3339(r.successAt) } : {}),
      amount: { total: r.totalFen, refund: r.refundFen, payer_total: r.totalFen, payer_refund: r.refundFen, currency: 'CNY' },
    });
    if (method === 'POST' && path === '/v3/refund/domestic/refunds') {
      const amount = (json.amount ?? {}) as Record<string, unknown>;
      const order = this.orders.get(typeof json.out_trade_no === 'string' ? json.out_trade_no : '');
      if (
        typeof json.out_refund_no !== 'string' ||
        !Number.isInteger(amount.refund) ||
        !Number.isInteger(amount.total) ||
        amount.currency !== 'CNY'
      ) {
        return this.sendJson(res, 400, { code: 'PARAM_ERROR', message: '参数错误' });
      }
      if (!order) return this.sendJson(res, 404, { code: 'RESOURCE_NOT_EXISTS', message: '订单不存在' });
      if (amount.total !== order.totalFen) return this.sendJson(res, 400, { code: 'PARAM_ERROR', message: '订单金额不符' });
      const known = this.refunds.get(json.out_refund_no);
      if (known && known.refundFen !== amount.refund)
        return this.sendJson(res, 400, { code: 'INVALID_REQUEST', message: '与之前请求不一致' });
      return this.sendJson(res, 200, refundView(known ?? this.newRefund(json.out_refund_no, order, amount.refund as number)));
    }
    const one = /^\/v3\/refund\/domestic\/refunds\/([^/]+)$/.exec(path);
    if (method === 'GET' && one) {
      const refund = this.refunds.get(decodeURIComponent(one[1]));
      return refund
        ? this.sendJson(res, 200, refundView(refund))
        : this.sendJson(res, 404, { code: 'RESOURCE_NOT_EXISTS', message: '退款单不存在' });
    }
    if (method === 'GET' && path === '/v3/bill/tradebill') {
      const text = this.bills.get(url.searchParams.get('bill_date') ?? '');
      if (text === undefined) return this.sendJson(res, 400, { code: 'NO_STATEMENT_EXIST', message: '账单文件不存在' });
      const token = `${url.searchParams.get('bill_date')}.${url.searchParams.get('tar_type') ?? 'NONE'}`;
      return this.sendJson(res, 200, {
        hash_type: 'SHA1',
        hash_value: createHash('sha1').update(text).digest('hex'),
        download_url: `${this.url}/v3/billdownload/file?token=${token}`,
      });
    }
    if (method === 'GET' && path === '/v3/billdownload/file') {
      const [date, tar] = (url.searchParams.get('token') ?? '').split('.');
      const text = this.bills.get(date);
      if (text === undefined) return this.sendJson(res, 400, { code: 'INVALID_REQUEST', message: 'token无效' });
      res
        .writeHead(200, { 'content-type': 'application/octet-stream' })
        .end(tar === 'GZIP' ? gzipSync(Buffer.from(text)) : Buffer.from(text));
      return;
    }
    return this.sendJson(res, 404, { code: 'NOT_FOUND', message: '接口不存在' });
  }

  private newRefund(refundNo: string, order: FakeOrder, refundFen: number, clientCertCn?: string): FakeRefund {
    const refund: FakeRefund = {
      refundNo,
      orderNo: order.orderNo,
      refundId: `50${randomBytes(12).toString('hex')}`,
      refundFen,
      totalFen: order.totalFen,
      state: 'PROCESSING',
      clientCertCn,
    };
    this.refunds.set(refundNo, refund);
    return refund;
  }

  /** Parses and checks `Authorization: WECHATPAY2-SHA256-RSA2048 k="v",…` like WeChat; an error message or null. */
  private checkAuthorization(method: string, pathWithQuery: string, header: string | undefined, body: Buffer): string | null {
    const match = /^WECHATPAY2-SHA256-RSA2048 (.+)$/.exec(header ?? '');
    if (!match) return 'Authorization 缺失或格式错误';
    const parts: Record<string, string> = {};
    for (const m of match[1].matchAll(/(\w+)="([^"]*)"/g)) parts[m[1]] = m[2];
    if (parts.mchid !== this.options.mchId) return 'mchid 不匹配';
    if (parts.serial_no !== this.options.merchantSerial) return '商户证书序列号错误';
    if (!/^\d+$/.test(parts.timestamp ?? '') || Math.abs(this.now() - Number(parts.timestamp)) > 300) return '时间戳过期';
    if (!parts.nonce_str || !parts.signature) return '缺少nonce_str或signature';
    const message = Buffer.concat([
      Buffer.from(`${method}\n${pathWithQuery}\n${parts.timestamp}\n${parts.nonce_str}\n`),
      body,
      Buffer.from('\n'),
    ]);
    const ok = createVerify('RSA-SHA256').update(message).verify(this.options.merchantPublicKey, parts.signature, 'base64');
    return ok ? null : '签名错误';
  }

  private sendJson(res: ServerResponse, status: number, body: unknown, signWith?: string): void {
    this.sendSigned(res, status, Buffer.from(JSON.stringify(body)), signWith, 'application/json');
  }

  private sendSigned(res: ServerResponse, status: number, body: Buffer, signWith = this.knobs.v3SignWith, contentType?: string): void {
    const headers: Record<string, string> = { ...this.v3SignatureHeaders(body, signWith), 'request-id': randomBytes(8).toString('hex') };
    if (contentType) headers['content-type'] = contentType;
    res.writeHead(status, headers).end(body);
  }

  /** `Wechatpay-*` headers over `timestamp\nnonce\nbody\n`, with the public key or a certificate's key. */
  private v3SignatureHeaders(body: Buffer, signWith: string): Record<string, string> {
    const timestamp = String(this.now());
    const nonce = randomBytes(16).toString('hex');
    const message = Buffer.concat([Buffer.from(`${timestamp}\n${nonce}\n`), body, Buffer.from('\n')]);
    let serial: string;
    let key: KeyObject;
    if (signWith === 'publicKey') {
      serial = this.options.platformPublicKeyId;
      key = this.options.platformPrivateKey;
    } else {
      const cert = [...this.options.certificates, ...this.retired].find((c) => c.serial === signWith);
      if (!cert) throw new Error(`no certificate ${signWith}`);
      serial = cert.serial;
      key = cert.privateKey;
    }
    const signature = createSign('RSA-SHA256')
      .update(message)
      .sign(this.knobs.badResponseSignature ? this.junkKey : key, 'base64');
    return { 'wechatpay-timestamp': timestamp, 'wechatpay-nonce': nonce, 'wechatpay-serial': serial, 'wechatpay-signature': signature };
  }

  private encrypt(plaintext: string, nonce: string, associatedData: string): string {
    const cipher = createCipheriv('aes-256-gcm', Buffer.from(this.options.apiV3Key), Buffer.from(nonce));
    cipher.setAAD(Buffer.from(associatedData));
    return Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]).toString('base64');
  }

  private newOrder(orderNo: string, totalFen: number, openid: string, request: Record<string, unknown>): FakeOrder {
    const order: FakeOrder = { orderNo, prepayId: `wx${randomBytes(16).toString('hex')}`, totalFen, openid, state: 'NOTPAY', request };
    this.orders.set(orderNo, order);
    return order;
  }
}

/** `<xml><a><![CDATA[x]]></a><b>1</b></xml>` → {a:'x', b:'1'}; null when it is not that shape. */
function parseFlatXml(text: string): Record<string, string> | null {
  const root = /^\s*<xml>([\s\S]*)<\/xml>\s*$/.exec(text);
  if (!root) return null;
  const fields: Record<string, string> = {};
  const element = /<([A-Za-z_][\w.-]*)>(?:<!\[CDATA\[([\s\S]*?)\]\]>|([^<]*))<\/\1>/g;
  let rest = root[1];
  for (const m of root[1].matchAll(element)) {
    fields[m[1]] = m[2] ?? m[3] ?? '';
    rest = rest.replace(m[0], '');
  }
  return rest.trim() === '' ? fields : null;
}

function shanghaiIso(seconds: number): string {
  return new Date(seconds * 1000 + SHANGHAI_MS).toISOString().slice(0, 19);
}

function rfc3339(seconds: number): string {
  return `${shanghaiIso(seconds)}+08:00`;
}

function compactShanghai(seconds: number): string {
  return shanghaiIso(seconds).replace(/[-T:]/g, '');
}
