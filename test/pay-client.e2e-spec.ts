import { createHash, createHmac, createVerify, generateKeyPairSync, KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpService } from '@nestjs/axios';
import { Test } from '@nestjs/testing';
import axios from 'axios';
import { Clock } from '../src/common/clock';
import { CommonModule } from '../src/common/common.module';
import { AppConfig } from '../src/config/app-config';
import { ConfigModule } from '../src/config/config.module';
import { loadConfig } from '../src/config/load-config';
import { CreateJsapiOrderInput, PayClient } from '../src/wechat/pay/pay.client';
import { WechatPayModule } from '../src/wechat/pay/pay.module';
import { PayApiError, PayResponseSignatureError, PayUnavailableError } from '../src/wechat/pay/pay-errors';
import { PayV2Client } from '../src/wechat/pay/v2.client';
import { PayV3Client } from '../src/wechat/pay/v3.client';
import { createPlatformCertificate, FakeWechatPay, PlatformCertificate } from './support/fake-wechat-pay';

const APPID = 'wx5andb0x00000042';
const MCHID = '1900000109';
const API_KEY = 'e2ePayV2Key00000000000000000042a';
const API_V3_KEY = 'e2ePayV3Key00000000000000000042b';
const MERCHANT_SERIAL = '3775B6A45ACD588826D15E583A95F5DD14F1D6A5';
const PUB_KEY_ID = 'PUB_KEY_ID_0119000001092024042500000042';
const CERT_A = '4A1B2C3D4E5F60718293A4B5C6D7E8F901234567';
const CERT_B = '2B2B2C3D4E5F60718293A4B5C6D7E8F901234567';
const OPENID = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o';

/** Moves time for the client and the fake server alike (both check each other's timestamps). */
class TestClock extends Clock {
  offsetMs = 0;
  nowMs(): number {
    return Date.now() + this.offsetMs;
  }
}

let dir: string;
let fake: FakeWechatPay;
let clock: TestClock;
let merchant: { privateKey: KeyObject; publicKey: KeyObject };
let certA: PlatformCertificate;
let certB: PlatformCertificate;
let orderSeq = 0;

function config(env: Record<string, string> = {}): AppConfig {
  return loadConfig(
    {
      NODE_ENV: 'test',
      SESSION_SECRET: 'test-session-secret-0123456789abcdef0123',
      WECHAT_APPID: APPID,
      WECHAT_PAY_BASE: fake.url,
      WECHAT_PAY_MCHID: MCHID,
      WECHAT_PAY_API_KEY: API_KEY,
      WECHAT_PAY_API_V3_KEY: API_V3_KEY,
      WECHAT_PAY_PRIVATE_KEY_PATH: join(dir, 'merchant_private_key.pem'),
      WECHAT_PAY_CERT_SERIAL: MERCHANT_SERIAL,
      WECHAT_PAY_PUBLIC_KEY_PATH: join(dir, 'wechatpay_public_key.pem'),
      WECHAT_PAY_PUBLIC_KEY_ID: PUB_KEY_ID,
      ...env,
    },
    { cwd: dir },
  );
}

function http(timeoutMs = 2000): HttpService {
  return new HttpService(axios.create({ timeout: timeoutMs }));
}

function newOrder(overrides: Partial<CreateJsapiOrderInput> = {}): CreateJsapiOrderInput {
  orderSeq++;
  return {
    orderNo: `ORD20240425100000E2E${String(orderSeq).padStart(3, '0')}`,
    description: '图片编辑额度 10张',
    amountFen: 990,
    payerOpenid: OPENID,
    payerIp: '203.0.113.7',
    notifyUrl: 'https://www.example.com/api/v1/payment/notify',
    expireAt: new Date(clock.nowMs() + 30 * 60_000),
    ...overrides,
  };
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure');
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pay-client-e2e-'));
  clock = new TestClock();
  merchant = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const wechatPay = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'merchant_private_key.pem'), merchant.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'wechatpay_public_key.pem'), wechatPay.publicKey.export({ type: 'spki', format: 'pem' }));
  certA = await createPlatformCertificate(CERT_A);
  certB = await createPlatformCertificate(CERT_B);
  fake = await FakeWechatPay.start({
    appId: APPID,
    mchId: MCHID,
    apiKey: API_KEY,
    apiV3Key: API_V3_KEY,
    merchantPublicKey: merchant.publicKey,
    merchantSerial: MERCHANT_SERIAL,
    platformPublicKeyId: PUB_KEY_ID,
    platformPrivateKey: wechatPay.privateKey,
    certificates: [certA],
    nowSeconds: () => clock.nowSeconds(),
  });
});

afterAll(async () => {
  await fake?.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  clock.offsetMs = 0;
  fake.knobs = { badResponseSignature: false, slowMs: 0, v3SignWith: 'publicKey' };
  fake.options.certificates.splice(0, fake.options.certificates.length, certA);
  fake.retired.splice(0);
});

describe.each(['MD5', 'HMAC-SHA256'] as const)('PayV2Client with %s', (signType) => {
  const client = () => new PayV2Client(http(), config({ WECHAT_PAY_VERSION: 'v2', WECHAT_PAY_SIGN_TYPE: signType }), clock);

  it('order → query → pay → query → close: signed both ways, paid order cannot be closed', async () => {
    const pay = client();
    const input = newOrder();
    const { prepayId, paymentParams } = await pay.createJsapiOrder(input);

    // What WeChat received.
    const sent = fake.last('/pay/unifiedorder')?.body ?? {};
    expect(sent).toMatchObject({
      appid: APPID,
      mch_id: MCHID,
      trade_type: 'JSAPI',
      out_trade_no: input.orderNo,
      total_fee: '990',
      body: '图片编辑额度 10张',
      openid: OPENID,
      spbill_create_ip: '203.0.113.7',
      notify_url: 'https://www.example.com/api/v1/payment/notify',
    });
    expect(sent.time_expire).toBe(new Date(input.expireAt.getTime() + 8 * 3600_000).toISOString().slice(0, 19).replace(/[-T:]/g, ''));
    expect(sent.sign_type).toBe(signType === 'MD5' ? undefined : 'HMAC-SHA256');

    // The page's parameters, checked with an independent computation.
    expect(prepayId).toBe(fake.orders.get(input.orderNo)?.prepayId);
    expect(paymentParams).toMatchObject({ appId: APPID, package: `prepay_id=${prepayId}`, signType });
    expect(Math.abs(Number(paymentParams.timeStamp) - clock.nowSeconds())).toBeLessThanOrEqual(1);
    const text = `appId=${APPID}&nonceStr=${paymentParams.nonceStr}&package=prepay_id=${prepayId}&signType=${signType}&timeStamp=${paymentParams.timeStamp}&key=${API_KEY}`;
    const expected = (signType === 'MD5' ? createHash('md5').update(text) : createHmac('sha256', API_KEY).update(text)).digest('hex').toUpperCase();
    expect(paymentParams.paySign).toBe(expected);

    await expect(pay.queryOrder(input.orderNo)).resolves.toMatchObject({ state: 'NOTPAY', appId: APPID, mchId: MCHID });
    const paid = fake.pay(input.orderNo);
    const query = await pay.queryOrder(input.orderNo);
    expect(query).toMatchObject({ state: 'SUCCESS', transactionId: paid.transactionId, totalFen: 990, payerOpenid: OPENID, appId: APPID, mchId: MCHID });
    expect(query.paidAt?.getTime()).toBe((paid.paidAt ?? 0) * 1000);
    expect(query.raw).toContain('<trade_state><![CDATA[SUCCESS]]></trade_state>');

    const closePaid = await failure(pay.closeOrder(input.orderNo));
    expect(closePaid).toBeInstanceOf(PayApiError);
    expect((closePaid as PayApiError).code).toBe('ORDERPAID');
  });

  it('closing is idempotent; a closed order queries as CLOSED, an unknown one as NOT_FOUND', async () => {
    const pay = client();
    const input = newOrder();
    await pay.createJsapiOrder(input);
    await pay.closeOrder(input.orderNo);
    await pay.closeOrder(input.orderNo); // WeChat answers ORDERCLOSED: not an error
    expect(fake.count('/pay/closeorder')).toBeGreaterThanOrEqual(2);
    await expect(pay.queryOrder(input.orderNo)).resolves.toMatchObject({ state: 'CLOSED' });
    await expect(pay.queryOrder('ORDNEVERPLACED')).resolves.toMatchObject({ state: 'NOT_FOUND' });
  });

  it('an answer with a bad sign is refused, whatever it says', async () => {
    const pay = client();
    const input = newOrder();
    fake.knobs.badResponseSignature = true;
    expect(await failure(pay.createJsapiOrder(input))).toBeInstanceOf(PayResponseSignatureError);
    expect(await failure(pay.queryOrder(input.orderNo))).toBeInstanceOf(PayResponseSignatureError);
  });

  it("WeChat's refusals become PayApiError with WeChat's code; SYSTEMERROR is an outage", async () => {
    const pay = client();
    fake.knobs.refuseNext = { code: 'INVALID_REQUEST', message: '参数错误' };
    const refused = await failure(pay.createJsapiOrder(newOrder()));
    expect(refused).toBeInstanceOf(PayApiError);
    expect((refused as PayApiError).code).toBe('INVALID_REQUEST');

    fake.knobs.refuseNext = { code: 'SYSTEMERROR', message: '系统繁忙' };
    expect(await failure(pay.queryOrder('ORDANY'))).toBeInstanceOf(PayUnavailableError);

    // A merchant signing with the wrong key: WeChat answers return_code FAIL, unsigned.
    const wrongKey = new PayV2Client(http(), config({ WECHAT_PAY_VERSION: 'v2', WECHAT_PAY_SIGN_TYPE: signType, WECHAT_PAY_API_KEY: 'f'.repeat(32) }), clock);
    const bad = await failure(wrongKey.createJsapiOrder(newOrder()));
    expect(bad).toBeInstanceOf(PayApiError);
    expect((bad as PayApiError).code).toBe('SIGNERROR');
  });
});

describe('PayV2Client transport failures', () => {
  it('WeChat down (connection refused) → PayUnavailableError; back up → works', async () => {
    const pay = new PayV2Client(http(), config({ WECHAT_PAY_VERSION: 'v2' }), clock);
    await fake.down();
    try {
      const err = await failure(pay.queryOrder('ORDDOWN'));
      expect(err).toBeInstanceOf(PayUnavailableError);
      expect(err.message).toMatch(/ECONNREFUSED/);
    } finally {
      await fake.up();
    }
    await expect(pay.queryOrder('ORDDOWN')).resolves.toMatchObject({ state: 'NOT_FOUND' });
  });

  it('WeChat slower than the timeout → PayUnavailableError', async () => {
    const pay = new PayV2Client(http(300), config({ WECHAT_PAY_VERSION: 'v2' }), clock);
    fake.knobs.slowMs = 1500;
    const err = await failure(pay.queryOrder('ORDSLOW'));
    expect(err).toBeInstanceOf(PayUnavailableError);
    expect(err.message).toMatch(/timed out/);
  });
});

describe('PayV3Client', () => {
  const v3 = (env: Record<string, string> = {}, timeoutMs?: number) => new PayV3Client(http(timeoutMs), config({ WECHAT_PAY_VERSION: 'v3', ...env }), clock);

  it('order → query → pay → query → close over signed JSON; paySign is RSA', async () => {
    const pay = v3();
    const input = newOrder();
    const { prepayId, paymentParams } = await pay.createJsapiOrder(input);
    expect(prepayId).toBe(fake.orders.get(input.orderNo)?.prepayId);

    const sent = fake.last('/v3/pay/transactions/jsapi')?.body ?? {};
    expect(sent).toMatchObject({
      appid: APPID,
      mchid: MCHID,
      out_trade_no: input.orderNo,
      description: '图片编辑额度 10张',
      notify_url: 'https://www.example.com/api/v1/payment/notify',
      amount: { total: 990, currency: 'CNY' },
      payer: { openid: OPENID },
      scene_info: { payer_client_ip: '203.0.113.7' },
    });
    expect(sent.time_expire).toBe(`${new Date(input.expireAt.getTime() + 8 * 3600_000).toISOString().slice(0, 19)}+08:00`);

    expect(paymentParams).toMatchObject({ appId: APPID, package: `prepay_id=${prepayId}`, signType: 'RSA' });
    const message = `${APPID}\n${paymentParams.timeStamp}\n${paymentParams.nonceStr}\nprepay_id=${prepayId}\n`;
    expect(createVerify('RSA-SHA256').update(message).verify(merchant.publicKey, paymentParams.paySign, 'base64')).toBe(true);

    await expect(pay.queryOrder(input.orderNo)).resolves.toMatchObject({ state: 'NOTPAY' });
    const paid = fake.pay(input.orderNo);
    const query = await pay.queryOrder(input.orderNo);
    expect(query).toMatchObject({ state: 'SUCCESS', transactionId: paid.transactionId, totalFen: 990, payerOpenid: OPENID, appId: APPID, mchId: MCHID });
    expect(query.paidAt?.getTime()).toBe((paid.paidAt ?? 0) * 1000);

    const closePaid = await failure(pay.closeOrder(input.orderNo));
    expect(closePaid).toBeInstanceOf(PayApiError);
    expect(closePaid).toMatchObject({ code: 'ORDERPAID', httpStatus: 400 });
  });

  it('close answers 204, then ORDER_CLOSED on repeat (not an error); unknown order → NOT_FOUND', async () => {
    const pay = v3();
    const input = newOrder();
    await pay.createJsapiOrder(input);
    await pay.closeOrder(input.orderNo);
    await pay.closeOrder(input.orderNo);
    await expect(pay.queryOrder(input.orderNo)).resolves.toMatchObject({ state: 'CLOSED' });
    await expect(pay.queryOrder('ORDNEVERPLACED')).resolves.toMatchObject({ state: 'NOT_FOUND' });
  });

  it('downloads platform certificates, then accepts answers signed by certificate or public key side by side', async () => {
    const pay = v3();
    const before = fake.count('/v3/certificates');
    await pay.queryOrder('ORDNOPE1'); // signed with the public key; the first answer starts the certificate download
    await pay.certificates.settled();
    expect(fake.count('/v3/certificates')).toBe(before + 1);
    expect(pay.certificates.certificateSerials()).toEqual([CERT_A]);

    fake.knobs.v3SignWith = CERT_A;
    const input = newOrder();
    await pay.createJsapiOrder(input);
    await expect(pay.queryOrder(input.orderNo)).resolves.toMatchObject({ state: 'NOTPAY' });
    fake.knobs.v3SignWith = 'publicKey';
    await expect(pay.queryOrder(input.orderNo)).resolves.toMatchObject({ state: 'NOTPAY' });
    expect(fake.count('/v3/certificates')).toBe(before + 1); // nothing re-downloaded
  });

  it('a new certificate serial triggers a download at most once a minute; 12 h later the set is refreshed', async () => {
    const pay = v3();
    const before = fake.count('/v3/certificates');
    await pay.queryOrder('ORDNOPE2');
    await pay.certificates.settled();
    expect(fake.count('/v3/certificates')).toBe(before + 1);

    // WeChat rotates: certificate B appears and signs answers.
    fake.options.certificates.push(certB);
    fake.knobs.v3SignWith = CERT_B;
    expect(await failure(pay.queryOrder('ORDNOPE2'))).toBeInstanceOf(PayResponseSignatureError); // within the minute: no download
    expect(fake.count('/v3/certificates')).toBe(before + 1);
    clock.offsetMs = 61_000;
    await expect(pay.queryOrder('ORDNOPE2')).resolves.toMatchObject({ state: 'NOT_FOUND' });
    expect(fake.count('/v3/certificates')).toBe(before + 2);
    expect(pay.certificates.certificateSerials().sort()).toEqual([CERT_B, CERT_A].sort());

    // 12 h later the list is downloaded again; certificate A has left it but is still valid: kept.
    fake.retire(CERT_A);
    fake.knobs.v3SignWith = CERT_A;
    clock.offsetMs = 12 * 3600_000 + 62_000;
    await expect(pay.queryOrder('ORDNOPE2')).resolves.toMatchObject({ state: 'NOT_FOUND' });
    await pay.certificates.settled();
    expect(fake.count('/v3/certificates')).toBe(before + 3);
    expect(pay.certificates.certificateSerials().sort()).toEqual([CERT_B, CERT_A].sort());
  });

  it('bootstrap without a configured public key: the download is verified with the certificate it contains', async () => {
    fake.knobs.v3SignWith = CERT_A;
    const pay = v3({ WECHAT_PAY_PUBLIC_KEY_ID: '', WECHAT_PAY_PUBLIC_KEY_PATH: '' });
    await expect(pay.queryOrder('ORDNOPE3')).resolves.toMatchObject({ state: 'NOT_FOUND' });
    expect(pay.certificates.certificateSerials()).toEqual([CERT_A]);
    // With no public key, an answer signed by it names an unknown key.
    fake.knobs.v3SignWith = 'publicKey';
    expect(await failure(pay.queryOrder('ORDNOPE3'))).toBeInstanceOf(PayResponseSignatureError);
  });

  it('a notification signed by a platform certificate is verified after an on-demand download', async () => {
    const input = newOrder();
    await v3().createJsapiOrder(input);
    fake.pay(input.orderNo);
    const { headers, body } = fake.v3Notification(input.orderNo, CERT_A);
    const fresh = v3();
    await expect(fresh.verifyNotification(headers, body)).resolves.toMatchObject({ kind: 'payment', success: true, orderNo: input.orderNo, totalFen: 990, payerOpenid: OPENID });
  });

  it('answers with a bad signature are refused (business answers and the certificate download)', async () => {
    const pay = v3();
    fake.knobs.badResponseSignature = true;
    expect(await failure(pay.createJsapiOrder(newOrder()))).toBeInstanceOf(PayResponseSignatureError);
    await pay.certificates.settled();
    expect(pay.certificates.certificateSerials()).toEqual([]);
    const direct = await failure(v3().certificates.refresh());
    expect(direct).toBeInstanceOf(PayResponseSignatureError);
  });

  it("WeChat's refusals become PayApiError with code and status; 5xx is an outage", async () => {
    const pay = v3();
    fake.knobs.refuseNext = { code: 'PARAM_ERROR', message: '参数错误', httpStatus: 400 };
    expect(await failure(pay.createJsapiOrder(newOrder()))).toMatchObject({ name: 'PayApiError', code: 'PARAM_ERROR', httpStatus: 400 });
    fake.knobs.refuseNext = { code: 'SYSTEM_ERROR', message: '系统错误', httpStatus: 500 };
    expect(await failure(pay.queryOrder('ORDANY'))).toBeInstanceOf(PayUnavailableError);

    // A merchant whose private key WeChat does not know: 401 SIGN_ERROR.
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'other_private_key.pem'), other.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const wrongKey = v3({ WECHAT_PAY_PRIVATE_KEY_PATH: join(dir, 'other_private_key.pem') });
    expect(await failure(wrongKey.queryOrder('ORDANY'))).toMatchObject({ name: 'PayApiError', code: 'SIGN_ERROR', httpStatus: 401 });
  });

  it('a bare 404 (wrong base URL, a proxy) is an error, never "order not found"', async () => {
    const pay = v3({ WECHAT_PAY_BASE: `${fake.url}/not-wechat` });
    expect(await failure(pay.queryOrder('ORDANY'))).toMatchObject({ name: 'PayApiError', code: 'HTTP_404', httpStatus: 404 });
  });

  it('the merchant key is read on first use, so it may appear after start-up', async () => {
    const late = join(dir, 'late_private_key.pem');
    const pay = v3({ WECHAT_PAY_PRIVATE_KEY_PATH: late });
    expect(await failure(pay.queryOrder('ORDLATE'))).toBeInstanceOf(PayUnavailableError);
    writeFileSync(late, merchant.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await expect(pay.queryOrder('ORDLATE')).resolves.toMatchObject({ state: 'NOT_FOUND' });
  });

  it('WeChat down → PayUnavailableError; slower than the timeout → PayUnavailableError', async () => {
    const pay = v3({}, 300);
    await fake.down();
    try {
      expect(await failure(pay.queryOrder('ORDDOWN'))).toBeInstanceOf(PayUnavailableError);
    } finally {
      await fake.up();
    }
    fake.knobs.slowMs = 1500;
    const slow = await failure(pay.queryOrder('ORDSLOW'));
    expect(slow).toBeInstanceOf(PayUnavailableError);
    expect(slow.message).toMatch(/timed out/);
  });
});

describe('WechatPayModule', () => {
  it.each([
    ['v2', PayV2Client],
    ['v3', PayV3Client],
  ] as const)('provides PayClient for WECHAT_PAY_VERSION=%s', async (version, type) => {
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(config({ WECHAT_PAY_VERSION: version })), CommonModule, WechatPayModule],
    }).compile();
    const pay = moduleRef.get(PayClient);
    expect(pay).toBeInstanceOf(type);
    expect(pay.version).toBe(version);
    await expect(pay.queryOrder('ORDVIAMODULE')).resolves.toMatchObject({ state: 'NOT_FOUND' });
    await moduleRef.close();
  });
});
