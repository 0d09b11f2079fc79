import { createCipheriv, createSign, createVerify, generateKeyPairSync, KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HttpService } from '@nestjs/axios';
import { of } from 'rxjs';
import { createPlatformCertificate, PlatformCertificate } from '../../../test/support/fake-wechat-pay';
import { Clock } from '../../common/clock';
import { AppConfig } from '../../config/app-config';
import { loadConfig } from '../../config/load-config';
import { PayNotificationError } from './pay-errors';
import { PlatformCertificates, V3RawResponse, V3Transport } from './platform-certificates';
import { formatV3Time, parseV3Time, PayV3Client } from './v3.client';

const APPID = 'wxd678efh567hg6787';
const MCHID = '1230000109';
const V3_KEY = 'a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb';
const PUB_KEY_ID = 'PUB_KEY_ID_0112340000000000000000000001';
const CERT_SERIAL = '5157F09EFDC096DE15EBE81A47057A7232F1B8E1';
const MERCHANT_SERIAL = '3775B6A45ACD588826D15E583A95F5DD14F1D6A5';
const NOW = 1_714_036_504; // 2024-04-25T17:15:04+08:00

class TestClock extends Clock {
  ms = NOW * 1000;
  nowMs(): number {
    return this.ms;
  }
}

let dir: string;
let config: AppConfig;
let wechatPay: { privateKey: KeyObject; publicKey: KeyObject };
let merchant: { privateKey: KeyObject; publicKey: KeyObject };
let cert: PlatformCertificate;
let strangerCert: PlatformCertificate;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pay-v3-spec-'));
  wechatPay = generateKeyPairSync('rsa', { modulusLength: 2048 });
  merchant = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'wechatpay_public.pem'), wechatPay.publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(join(dir, 'merchant_private.pem'), merchant.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const validFrom = new Date((NOW - 86400) * 1000);
  const validTo = new Date((NOW + 5 * 86400) * 1000);
  cert = await createPlatformCertificate(CERT_SERIAL, validFrom, validTo);
  strangerCert = await createPlatformCertificate('1A2B3C4D5E6F', validFrom, validTo);
  config = loadConfig(
    {
      NODE_ENV: 'test',
      SESSION_SECRET: 'x'.repeat(40),
      WECHAT_APPID: APPID,
      WECHAT_PAY_VERSION: 'v3',
      WECHAT_PAY_BASE: 'http://127.0.0.1:9',
      WECHAT_PAY_MCHID: MCHID,
      WECHAT_PAY_API_V3_KEY: V3_KEY,
      WECHAT_PAY_PRIVATE_KEY_PATH: join(dir, 'merchant_private.pem'),
      WECHAT_PAY_CERT_SERIAL: MERCHANT_SERIAL,
      WECHAT_PAY_PUBLIC_KEY_PATH: join(dir, 'wechatpay_public.pem'),
      WECHAT_PAY_PUBLIC_KEY_ID: PUB_KEY_ID,
    },
    { cwd: dir },
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

// ---- WeChat's side, written independently of src/ --------------------------------------------

function encrypt(plaintext: string, nonce: string, aad: string, key = V3_KEY): string {
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(key), Buffer.from(nonce));
  cipher.setAAD(Buffer.from(aad));
  return Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]).toString('base64');
}

function signHeaders(
  body: Buffer,
  key: KeyObject,
  serial: string,
  timestamp = String(NOW),
  nonce = 'fdasflkja484w9fbvowejfnokwemfsdf',
): Record<string, string> {
  const signature = createSign('RSA-SHA256')
    .update(Buffer.concat([Buffer.from(`${timestamp}\n${nonce}\n`), body, Buffer.from('\n')]))
    .sign(key, 'base64');
  return { 'Wechatpay-Timestamp': timestamp, 'Wechatpay-Nonce': nonce, 'Wechatpay-Signature': signature, 'Wechatpay-Serial': serial };
}

const TRANSACTION = {
  appid: APPID,
  mchid: MCHID,
  out_trade_no: 'ORD20240425171500XYZ789',
  transaction_id: '4200002216202404258765432109',
  trade_type: 'JSAPI',
  trade_state: 'SUCCESS',
  trade_state_desc: '支付成功',
  bank_type: 'OTHERS',
  success_time: '2024-04-25T17:14:58+08:00',
  payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
  amount: { total: 990, payer_total: 990, currency: 'CNY', payer_currency: 'CNY' },
};

function notifyBody(resourcePlain: object, eventType = 'TRANSACTION.SUCCESS', key = V3_KEY): Buffer {
  const nonce = 'fdasfwqewlkja';
  return Buffer.from(
    JSON.stringify({
      id: 'EV-2018022511223320873',
      create_time: '2024-04-25T17:15:00+08:00',
      resource_type: 'encrypt-resource',
      event_type: eventType,
      summary: '支付成功',
      resource: {
        original_type: 'transaction',
        algorithm: 'AEAD_AES_256_GCM',
        ciphertext: encrypt(JSON.stringify(resourcePlain), nonce.slice(0, 12), 'transaction', key),
        associated_data: 'transaction',
        nonce: nonce.slice(0, 12),
      },
    }),
  );
}

/** The `/v3/certificates` answer, signed with `signer` (a certificate in it, by default). */
function certificatesAnswer(
  certs: PlatformCertificate[],
  signer: { key: KeyObject; serial: string },
  timestamp = String(NOW),
): V3RawResponse {
  const body = Buffer.from(
    JSON.stringify({
      data: certs.map((c) => ({
        serial_no: c.serial,
        effective_time: '2024-04-24T17:15:04+08:00',
        expire_time: '2024-04-30T17:15:04+08:00',
        encrypt_certificate: {
          algorithm: 'AEAD_AES_256_GCM',
          nonce: '0123456789ab',
          associated_data: 'certificate',
          ciphertext: encrypt(c.pem, '0123456789ab', 'certificate'),
        },
      })),
    }),
  );
  const headers = Object.fromEntries(
    Object.entries(signHeaders(body, signer.key, signer.serial, timestamp)).map(([k, v]) => [k.toLowerCase(), v]),
  );
  return { status: 200, headers, body };
}

interface Setup {
  client: PayV3Client;
  clock: TestClock;
  downloads: () => number;
}

/** A client whose certificate download answers with `answer` (our cert, signed by itself). */
function setup(answer: () => V3RawResponse = () => certificatesAnswer([cert], { key: cert.privateKey, serial: CERT_SERIAL })): Setup {
  const clock = new TestClock();
  let count = 0;
  const transport: V3Transport = {
    send: () => {
      count++;
      return Promise.resolve(answer());
    },
  };
  const http = { axiosRef: { defaults: {} }, request: () => of() } as unknown as HttpService;
  const client = new PayV3Client(http, config, clock, new PlatformCertificates(transport, config, clock));
  return { client, clock, downloads: () => count };
}

async function rejection(client: PayV3Client, headers: Record<string, string>, body: Buffer): Promise<string> {
  try {
    await client.verifyNotification(headers, body);
  } catch (err) {
    if (err instanceof PayNotificationError) return err.reason;
    throw err;
  }
  throw new Error('notification was accepted');
}

describe('v3 times (RFC 3339)', () => {
  it('formats time_expire in +08:00 without fraction', () => {
    expect(formatV3Time(new Date('2024-04-25T09:45:00.700Z'))).toBe('2024-04-25T17:45:00+08:00');
  });

  it.each([
    ['2024-04-25T17:14:58+08:00', '2024-04-25T09:14:58.000Z'],
    ['2024-04-25T09:14:58Z', '2024-04-25T09:14:58.000Z'],
    ['2024-04-25T09:14:58.250Z', '2024-04-25T09:14:58.250Z'],
    ['2024-04-24T23:14:58-10:00', '2024-04-25T09:14:58.000Z'],
  ])('parses %s', (text, iso) => {
    expect(parseV3Time(text)?.toISOString()).toBe(iso);
  });

  it.each([
    '',
    '2024-04-25 17:14:58+08:00',
    '2024-02-30T10:00:00+08:00',
    '2024-04-25T24:00:00+08:00',
    '2024-04-25T17:14:58',
    '2024-04-25T17:14:58+0800',
    undefined,
  ])('refuses %p', (text) => {
    expect(parseV3Time(text)).toBeNull();
  });
});

describe('v3 JSAPI payment parameters', () => {
  it('signs the prepay answer check, then paySign with RSA over appId, timeStamp, nonceStr, package', async () => {
    const clock = new TestClock();
    const requests: Array<{ url: string; data: string; headers: Record<string, string> }> = [];
    const http = {
      axiosRef: { defaults: {} },
      request: (cfg: { url: string; data: string; headers: Record<string, string> }) => {
        requests.push(cfg);
        const body = Buffer.from('{"prepay_id":"wx201410272009395522657a690389285100"}');
        const headers = Object.fromEntries(
          Object.entries(signHeaders(body, wechatPay.privateKey, PUB_KEY_ID)).map(([k, v]) => [k.toLowerCase(), v]),
        );
        return of({ status: 200, headers, data: body });
      },
    } as unknown as HttpService;
    // Certificates are never downloaded here: the answer is signed with the public key.
    const noDownload: V3Transport = { send: () => Promise.reject(new Error('offline')) };
    const client = new PayV3Client(http, config, clock, new PlatformCertificates(noDownload, config, clock));

    const order = await client.createJsapiOrder({
      orderNo: 'ORD1',
      description: '会员开通',
      amountFen: 2990,
      payerOpenid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
      payerIp: '203.0.113.9',
      notifyUrl: 'https://www.example.com/api/v1/payment/notify',
      expireAt: new Date((NOW + 1800) * 1000),
    });

    expect(order.prepayId).toBe('wx201410272009395522657a690389285100');
    const p = order.paymentParams;
    expect(p).toMatchObject({
      appId: APPID,
      timeStamp: String(NOW),
      package: 'prepay_id=wx201410272009395522657a690389285100',
      signType: 'RSA',
    });
    expect(p.nonceStr).toMatch(/^[A-Za-z0-9]{32}$/);
    for (const value of Object.values(p)) expect(typeof value).toBe('string');
    const message = `${APPID}\n${NOW}\n${p.nonceStr}\nprepay_id=wx201410272009395522657a690389285100\n`;
    expect(createVerify('RSA-SHA256').update(message).verify(merchant.publicKey, p.paySign, 'base64')).toBe(true);

    // The request itself: body fields and a verifiable Authorization over the wire path.
    const sent = JSON.parse(requests[0].data);
    expect(sent).toEqual({
      appid: APPID,
      mchid: MCHID,
      description: '会员开通',
      out_trade_no: 'ORD1',
      time_expire: '2024-04-25T17:45:04+08:00',
      notify_url: 'https://www.example.com/api/v1/payment/notify',
      amount: { total: 2990, currency: 'CNY' },
      payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
      scene_info: { payer_client_ip: '203.0.113.9' },
    });
    const auth = /^WECHATPAY2-SHA256-RSA2048 mchid="(\d+)",nonce_str="(\w+)",signature="([^"]+)",timestamp="(\d+)",serial_no="(\w+)"$/.exec(
      requests[0].headers.Authorization,
    );
    expect(auth).not.toBeNull();
    const [, mchid, nonce, signature, timestamp, serial] = auth as RegExpExecArray;
    expect([mchid, timestamp, serial]).toEqual([MCHID, String(NOW), MERCHANT_SERIAL]);
    const signed = `POST\n/v3/pay/transactions/jsapi\n${timestamp}\n${nonce}\n${requests[0].data}\n`;
    expect(createVerify('RSA-SHA256').update(signed).verify(merchant.publicKey, signature, 'base64')).toBe(true);
  });
});

describe('v3 payment notification', () => {
  it('a TRANSACTION.SUCCESS signed with the WeChat Pay public key decodes to a payment', async () => {
    const { client } = setup();
    const body = notifyBody(TRANSACTION);
    const result = await client.verifyNotification(signHeaders(body, wechatPay.privateKey, PUB_KEY_ID), body);
    expect(result).toEqual({
      kind: 'payment',
      success: true,
      orderNo: 'ORD20240425171500XYZ789',
      transactionId: '4200002216202404258765432109',
      totalFen: 990,
      payerOpenid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
      paidAt: new Date('2024-04-25T09:14:58Z'),
      raw: JSON.stringify(TRANSACTION),
    });
  });

  it('header names are case-insensitive (Node lower-cases them)', async () => {
    const { client } = setup();
    const body = notifyBody(TRANSACTION);
    const lower = Object.fromEntries(
      Object.entries(signHeaders(body, wechatPay.privateKey, PUB_KEY_ID)).map(([k, v]) => [k.toLowerCase(), v]),
    );
    await expect(client.verifyNotification(lower, body)).resolves.toMatchObject({ kind: 'payment', success: true });
  });

  it('a notification signed by a platform certificate not yet known triggers one download, then verifies', async () => {
    const { client, downloads } = setup();
    const body = notifyBody(TRANSACTION);
    await expect(client.verifyNotification(signHeaders(body, cert.privateKey, CERT_SERIAL), body)).resolves.toMatchObject({
      success: true,
    });
    expect(downloads()).toBe(1);
    expect(client.certificates.certificateSerials()).toEqual([CERT_SERIAL]);
    // Known now: no further download.
    await client.verifyNotification(signHeaders(body, cert.privateKey, CERT_SERIAL), body);
    expect(downloads()).toBe(1);
  });

  it('an unknown serial refreshes at most once a minute and is bad_signature', async () => {
    const { client, clock, downloads } = setup();
    const body = notifyBody(TRANSACTION);
    const stranger = signHeaders(body, strangerCert.privateKey, strangerCert.serial);
    expect(await rejection(client, stranger, body)).toBe('bad_signature');
    expect(downloads()).toBe(1);
    expect(await rejection(client, stranger, body)).toBe('bad_signature');
    expect(downloads()).toBe(1);
    clock.ms += 61_000;
    expect(await rejection(client, signHeaders(body, strangerCert.privateKey, strangerCert.serial, String(NOW + 61)), body)).toBe(
      'bad_signature',
    );
    expect(downloads()).toBe(2);
  });

  it('a timestamp 10 minutes off either way is stale_timestamp; 4 minutes is accepted', async () => {
    const { client } = setup();
    const body = notifyBody(TRANSACTION);
    expect(await rejection(client, signHeaders(body, wechatPay.privateKey, PUB_KEY_ID, String(NOW - 600)), body)).toBe('stale_timestamp');
    expect(await rejection(client, signHeaders(body, wechatPay.privateKey, PUB_KEY_ID, String(NOW + 600)), body)).toBe('stale_timestamp');
    await expect(
      client.verifyNotification(signHeaders(body, wechatPay.privateKey, PUB_KEY_ID, String(NOW - 240)), body),
    ).resolves.toMatchObject({ success: true });
  });

  it("WeChat's WECHATPAY/SIGNTEST/ probe is refused as signtest_probe", async () => {
    const { client } = setup();
    const body = notifyBody(TRANSACTION);
    const headers = {
      ...signHeaders(body, wechatPay.privateKey, PUB_KEY_ID),
      'Wechatpay-Signature': 'WECHATPAY/SIGNTEST/Z2VuZXJhdGVkIHByb2Jl',
    };
    expect(await rejection(client, headers, body)).toBe('signtest_probe');
  });

  it('a body changed after signing is bad_signature; missing headers are malformed', async () => {
    const { client } = setup();
    const body = notifyBody(TRANSACTION);
    const headers = signHeaders(body, wechatPay.privateKey, PUB_KEY_ID);
    expect(await rejection(client, headers, Buffer.from(body.toString().replace('TRANSACTION.SUCCESS', 'TRANSACTION.SUCCESS ')))).toBe(
      'bad_signature',
    );
    expect(await rejection(client, {}, body)).toBe('malformed');
  });

  it('a tampered ciphertext (even re-signed) is decrypt_failed', async () => {
    const { client } = setup();
    const envelope = JSON.parse(notifyBody(TRANSACTION).toString());
    const bytes = Buffer.from(envelope.resource.ciphertext, 'base64');
    bytes[3] ^= 0x01;
    envelope.resource.ciphertext = bytes.toString('base64');
    const body = Buffer.from(JSON.stringify(envelope));
    expect(await rejection(client, signHeaders(body, wechatPay.privateKey, PUB_KEY_ID), body)).toBe('decrypt_failed');
    const foreignKey = notifyBody(TRANSACTION, 'TRANSACTION.SUCCESS', 'b'.repeat(32));
    expect(await rejection(client, signHeaders(foreignKey, wechatPay.privateKey, PUB_KEY_ID), foreignKey)).toBe('decrypt_failed');
  });

  it('another mchid or appid is wrong_merchant', async () => {
    const { client } = setup();
    for (const tx of [
      { ...TRANSACTION, mchid: '1900000109' },
      { ...TRANSACTION, appid: 'wx0000000000000000' },
    ]) {
      const body = notifyBody(tx);
      expect(await rejection(client, signHeaders(body, wechatPay.privateKey, PUB_KEY_ID), body)).toBe('wrong_merchant');
    }
  });

  it('a v2 XML notification under the v3 configuration is wrong_protocol', async () => {
    const { client } = setup();
    const body = Buffer.from('<xml><return_code><![CDATA[SUCCESS]]></return_code><sign>ABC</sign></xml>');
    expect(await rejection(client, {}, body)).toBe('wrong_protocol');
  });

  it('other event types are verified and reported as other', async () => {
    const { client } = setup();
    const other = { mchid: MCHID, out_trade_no: 'ORD1', state: 'FINISHED' };
    const body = notifyBody(other, 'PROFITSHARING.FINISHED');
    await expect(client.verifyNotification(signHeaders(body, wechatPay.privateKey, PUB_KEY_ID), body)).resolves.toEqual({
      kind: 'other',
      eventType: 'PROFITSHARING.FINISHED',
    });
    // Still signature-checked.
    expect(await rejection(client, signHeaders(body, strangerCert.privateKey, PUB_KEY_ID), body)).toBe('bad_signature');
  });
});

const REFUND = {
  mchid: MCHID,
  out_trade_no: 'ORD20240425171500XYZ789',
  transaction_id: '4200002216202404258765432109',
  out_refund_no: 'RF20240425180000ABCDEFGH',
  refund_id: '50000000382019052709732678859',
  refund_status: 'SUCCESS',
  success_time: '2024-04-25T18:00:09+08:00',
  user_received_account: '支付用户零钱',
  amount: { total: 990, refund: 500, payer_total: 990, payer_refund: 500 },
};

describe('v3 refund notification (REFUND.*)', () => {
  it('REFUND.SUCCESS decrypts to a refund result', async () => {
    const { client } = setup();
    const body = notifyBody(REFUND, 'REFUND.SUCCESS');
    const n = await client.verifyNotification(signHeaders(body, wechatPay.privateKey, PUB_KEY_ID), body);
    expect(n).toEqual({
      kind: 'refund',
      status: 'SUCCESS',
      orderNo: 'ORD20240425171500XYZ789',
      refundNo: 'RF20240425180000ABCDEFGH',
      wxRefundId: '50000000382019052709732678859',
      transactionId: '4200002216202404258765432109',
      refundFen: 500,
      totalFen: 990,
      successAt: new Date('2024-04-25T10:00:09Z'),
      raw: JSON.stringify(REFUND),
    });
    // The refund notify URL accepts the same document.
    await expect(client.verifyRefundNotification(signHeaders(body, wechatPay.privateKey, PUB_KEY_ID), body)).resolves.toMatchObject({
      kind: 'refund',
    });
  });

  it.each([
    ['REFUND.CLOSED', 'CLOSED'],
    ['REFUND.ABNORMAL', 'ABNORMAL'],
  ])('%s is %s', async (eventType, status) => {
    const { client } = setup();
    const body = notifyBody({ ...REFUND, refund_status: status, success_time: undefined }, eventType);
    await expect(client.verifyNotification(signHeaders(body, wechatPay.privateKey, PUB_KEY_ID), body)).resolves.toMatchObject({
      kind: 'refund',
      status,
      successAt: undefined,
    });
  });

  it('forged, undecryptable, foreign or contradictory refund notifications are refused', async () => {
    const { client } = setup();
    const body = notifyBody(REFUND, 'REFUND.SUCCESS');
    expect(await rejection(client, signHeaders(body, strangerCert.privateKey, PUB_KEY_ID), body)).toBe('bad_signature');
    const foreignKey = notifyBody(REFUND, 'REFUND.SUCCESS', 'b'.repeat(32));
    expect(await rejection(client, signHeaders(foreignKey, wechatPay.privateKey, PUB_KEY_ID), foreignKey)).toBe('decrypt_failed');
    for (const [resource, reason] of [
      [{ ...REFUND, mchid: '1900000109' }, 'wrong_merchant'],
      [{ ...REFUND, mchid: undefined }, 'wrong_merchant'],
      [{ ...REFUND, refund_status: 'CLOSED' }, 'malformed'],
      [{ ...REFUND, amount: { total: 990 } }, 'malformed'],
      [{ ...REFUND, out_refund_no: undefined }, 'malformed'],
    ] as const) {
      const b = notifyBody(resource, 'REFUND.SUCCESS');
      expect(await rejection(client, signHeaders(b, wechatPay.privateKey, PUB_KEY_ID), b)).toBe(reason);
    }
  });

  it('a payment notification on the refund URL is refused', async () => {
    const { client } = setup();
    const body = notifyBody(TRANSACTION);
    await expect(client.verifyRefundNotification(signHeaders(body, wechatPay.privateKey, PUB_KEY_ID), body)).rejects.toMatchObject({
      reason: 'malformed',
    });
  });
});

/** A PayV3Client whose HTTP answers come from `route` (signed with the WeChat Pay public key unless unsigned). */
function routedClient(route: (method: string, url: string, body: string) => { status: number; body: Buffer; unsigned?: boolean }) {
  const clock = new TestClock();
  const requests: Array<{ method: string; url: string; data: string; headers: Record<string, string> }> = [];
  const http = {
    axiosRef: { defaults: {} },
    request: (cfg: { method: string; url: string; data: string; headers: Record<string, string> }) => {
      requests.push(cfg);
      const answer = route(cfg.method, cfg.url, cfg.data ?? '');
      const headers = answer.unsigned
        ? {}
        : Object.fromEntries(
            Object.entries(signHeaders(answer.body, wechatPay.privateKey, PUB_KEY_ID)).map(([k, v]) => [k.toLowerCase(), v]),
          );
      return of({ status: answer.status, headers, data: answer.body });
    },
  } as unknown as HttpService;
  const noDownload: V3Transport = { send: () => Promise.reject(new Error('offline')) };
  return { client: new PayV3Client(http, config, clock, new PlatformCertificates(noDownload, config, clock)), requests };
}

const json = (status: number, value: unknown) => ({ status, body: Buffer.from(JSON.stringify(value)) });

describe('v3 refunds and trade bills (client side)', () => {
  const refundAnswer = {
    ...REFUND,
    status: 'PROCESSING',
    success_time: undefined,
    create_time: '2024-04-25T18:00:00+08:00',
    amount: { total: 990, refund: 500, currency: 'CNY' },
  };

  it('refund posts the documented body (reason cut to 80 characters) and reads PROCESSING', async () => {
    const { client, requests } = routedClient(() => json(200, refundAnswer));
    const r = await client.refund({
      orderNo: 'ORD20240425171500XYZ789',
      refundNo: 'RF20240425180000ABCDEFGH',
      totalFen: 990,
      refundFen: 500,
      notifyUrl: 'https://www.example.com/api/v1/payment/notify',
      reason: `重复购买\n${'退'.repeat(100)}`,
    });
    expect(r).toMatchObject({
      state: 'PROCESSING',
      refundNo: 'RF20240425180000ABCDEFGH',
      wxRefundId: '50000000382019052709732678859',
      refundFen: 500,
      totalFen: 990,
    });
    expect(requests[0].url).toBe('http://127.0.0.1:9/v3/refund/domestic/refunds');
    const sent = JSON.parse(requests[0].data);
    expect(sent).toMatchObject({
      out_trade_no: 'ORD20240425171500XYZ789',
      out_refund_no: 'RF20240425180000ABCDEFGH',
      notify_url: 'https://www.example.com/api/v1/payment/notify',
      amount: { refund: 500, total: 990, currency: 'CNY' },
    });
    expect([...sent.reason]).toHaveLength(80);
    expect(sent.reason.startsWith('重复购买 ')).toBe(true);
  });

  it("WeChat's refusals keep their code; a query of an unknown refund is NOT_FOUND only when WeChat signed it", async () => {
    const refused = routedClient(() => json(400, { code: 'INVALID_REQUEST', message: '申请退款金额超过订单可退金额' }));
    await expect(
      refused.client.refund({ orderNo: 'O', refundNo: 'R', totalFen: 990, refundFen: 500, notifyUrl: 'https://x/n' }),
    ).rejects.toMatchObject({
      name: 'PayApiError',
      code: 'INVALID_REQUEST',
    });
    const missing = routedClient(() => json(404, { code: 'RESOURCE_NOT_EXISTS', message: '退款单不存在' }));
    await expect(missing.client.queryRefund('RFNONE')).resolves.toMatchObject({ state: 'NOT_FOUND', refundNo: 'RFNONE' });
    expect(missing.requests[0].url).toBe('http://127.0.0.1:9/v3/refund/domestic/refunds/RFNONE');
    const bare = routedClient(() => ({ ...json(404, { code: 'RESOURCE_NOT_EXISTS' }), unsigned: true }));
    await expect(bare.client.queryRefund('RFNONE')).rejects.toMatchObject({ name: 'PayApiError' });
    const done = routedClient(() => json(200, { ...refundAnswer, status: 'SUCCESS', success_time: '2024-04-25T18:00:09+08:00' }));
    await expect(done.client.queryRefund('RF20240425180000ABCDEFGH')).resolves.toMatchObject({
      state: 'SUCCESS',
      successAt: new Date('2024-04-25T10:00:09Z'),
    });
  });

  const BILL =
    '交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\r\n' +
    '`2024-04-25 17:14:58,`wxd678efh567hg6787,`1230000109,`0,`,`4200002216202404258765432109,`ORD20240425171500XYZ789,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`JSAPI,`SUCCESS,`OTHERS,`CNY,`9.90,`0.00,`0,`0,`0.00,`0.00,`,`,`额度,`,`0.06000,`0.60%,`9.90,`0.00,`\r\n' +
    '总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n`1,`9.90,`0.00,`0.00,`0.06000,`9.90,`0.00\r\n';

  it('trade bill: the signed answer, then the unsigned gzip file from download_url with a verified SHA1', async () => {
    const { gzipSync } = await import('node:zlib');
    const { createHash } = await import('node:crypto');
    const { client, requests } = routedClient((_m, url) =>
      url.includes('/v3/bill/tradebill')
        ? json(200, {
            hash_type: 'SHA1',
            hash_value: createHash('sha1').update(BILL).digest('hex'),
            download_url: 'http://127.0.0.1:9/v3/billdownload/file?token=abc',
          })
        : { status: 200, body: gzipSync(Buffer.from(BILL)), unsigned: true },
    );
    const rows = await client.downloadTradeBill('2024-04-25');
    expect(rows).toEqual([expect.objectContaining({ orderNo: 'ORD20240425171500XYZ789', tradeState: 'SUCCESS', totalFen: 990 })]);
    expect(requests.map((r) => r.url)).toEqual([
      'http://127.0.0.1:9/v3/bill/tradebill?bill_date=2024-04-25&bill_type=ALL&tar_type=GZIP',
      'http://127.0.0.1:9/v3/billdownload/file?token=abc',
    ]);
    // The download is signed over its own path and query.
    const auth = /signature="([^"]+)",timestamp="(\d+)"/.exec(requests[1].headers.Authorization);
    const nonce = /nonce_str="(\w+)"/.exec(requests[1].headers.Authorization)![1];
    const signed = `GET\n/v3/billdownload/file?token=abc\n${auth![2]}\n${nonce}\n\n`;
    expect(createVerify('RSA-SHA256').update(signed).verify(merchant.publicKey, auth![1], 'base64')).toBe(true);
  });

  it('trade bill: a file that does not match hash_value, or a download_url on another host, is refused; NO_STATEMENT_EXIST is an empty bill', async () => {
    const wrongHash = routedClient((_m, url) =>
      url.includes('/v3/bill/tradebill')
        ? json(200, { hash_type: 'SHA1', hash_value: 'f'.repeat(40), download_url: 'http://127.0.0.1:9/v3/billdownload/file?token=abc' })
        : { status: 200, body: Buffer.from(BILL), unsigned: true },
    );
    await expect(wrongHash.client.downloadTradeBill('2024-04-25')).rejects.toMatchObject({ name: 'PayUnavailableError' });
    const elsewhere = routedClient(() =>
      json(200, { hash_type: 'SHA1', hash_value: 'f'.repeat(40), download_url: 'https://evil.example.com/file?token=abc' }),
    );
    await expect(elsewhere.client.downloadTradeBill('2024-04-25')).rejects.toMatchObject({ name: 'PayResponseSignatureError' });
    expect(elsewhere.requests).toHaveLength(1);
    const none = routedClient(() => json(400, { code: 'NO_STATEMENT_EXIST', message: '账单文件不存在' }));
    await expect(none.client.downloadTradeBill('2024-04-25')).resolves.toEqual([]);
    await expect(none.client.downloadTradeBill('2024-02-30')).rejects.toThrow(TypeError);
  });
});

describe('platform certificate download (bootstrap)', () => {
  it('an answer signed by a certificate it contains is accepted when nothing else names that serial', async () => {
    const { client, downloads } = setup();
    await client.certificates.refresh();
    expect(downloads()).toBe(1);
    expect(client.certificates.certificateSerials()).toEqual([CERT_SERIAL]);
  });

  it('an answer signed with the WeChat Pay public key is accepted', async () => {
    const { client } = setup(() => certificatesAnswer([cert], { key: wechatPay.privateKey, serial: PUB_KEY_ID }));
    await client.certificates.refresh();
    expect(client.certificates.certificateSerials()).toEqual([CERT_SERIAL]);
  });

  it('an answer signed by a key that is neither known nor in the answer is refused and loads nothing', async () => {
    const { client } = setup(() => certificatesAnswer([cert], { key: strangerCert.privateKey, serial: strangerCert.serial }));
    await expect(client.certificates.refresh()).rejects.toMatchObject({ name: 'PayResponseSignatureError' });
    expect(client.certificates.certificateSerials()).toEqual([]);
  });

  it('a certificate that does not decrypt with the APIv3 key, or whose serial_no lies, is refused', async () => {
    const tampered = () => {
      const answer = certificatesAnswer([cert], { key: wechatPay.privateKey, serial: PUB_KEY_ID });
      const json = JSON.parse(answer.body.toString());
      json.data[0].encrypt_certificate.ciphertext = encrypt(strangerCert.pem, '0123456789ab', 'certificate', 'c'.repeat(32));
      const body = Buffer.from(JSON.stringify(json));
      return {
        ...answer,
        headers: Object.fromEntries(
          Object.entries(signHeaders(body, wechatPay.privateKey, PUB_KEY_ID)).map(([k, v]) => [k.toLowerCase(), v]),
        ),
        body,
      };
    };
    await expect(setup(tampered).client.certificates.refresh()).rejects.toThrow(/auth_failed/);

    const lying = () => {
      const answer = certificatesAnswer([strangerCert], { key: wechatPay.privateKey, serial: PUB_KEY_ID });
      const body = Buffer.from(answer.body.toString().replace(strangerCert.serial, CERT_SERIAL));
      return {
        ...answer,
        headers: Object.fromEntries(
          Object.entries(signHeaders(body, wechatPay.privateKey, PUB_KEY_ID)).map(([k, v]) => [k.toLowerCase(), v]),
        ),
        body,
      };
    };
    await expect(setup(lying).client.certificates.refresh()).rejects.toThrow(/serial_no does not match/);
  });
});
