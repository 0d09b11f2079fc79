import { createHash, createHmac, createVerify, generateKeyPairSync, KeyObject } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpService } from '@nestjs/axios';
import { Test } from '@nestjs/testing';
import axios from 'axios';
import { Clock } from '../../src/common/clock';
import { CommonModule } from '../../src/common/common.module';
import { AppConfig } from '../../src/config/app-config';
import { ConfigModule } from '../../src/config/config.module';
import { loadConfig } from '../../src/config/load-config';
import { CreateJsapiOrderInput, PayClient } from '../../src/wechat/pay/pay.client';
import { WechatPayModule } from '../../src/wechat/pay/pay.module';
import { PayApiError, PayResponseSignatureError, PayUnavailableError } from '../../src/wechat/pay/pay-errors';
import { PayV2Client } from '../../src/wechat/pay/client/v2.client';
import { PayV3Client } from '../../src/wechat/pay/client/v3.client';
import { createPlatformCertificate, FakeWechatPay, PlatformCertificate } from '../support/fake-wechat-pay';

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
    const expected = (signType === 'MD5' ? createHash('md5').update(text) : createHmac('sha256', API_KEY).update(text))
      .digest('hex')
      .toUpperCase();
    expect(paymentParams.paySign).toBe(expected);

    await expect(pay.queryOrder(input.orderNo)).resolves.toMatchObject({ state: 'NOTPAY', appId: APPID, mchId: MCHID });
    const paid = fake.pay(input.orderNo);
    const query = await pay.queryOrder(input.orderNo);
    expect(query).toMatchObject({
      state: 'SUCCESS',
      transactionId: paid.transactionId,
      totalFen: 990,
      payerOpenid: OPENID,
      appId: APPID,
      mchId: MCHID,
    });
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
    const wrongKey = new PayV2Client(
      http(),
      config({ WECHAT_PAY_VERSION: 'v2', WECHAT_PAY_SIGN_TYPE: signType, WECHAT_PAY_API_KEY: 'f'.repeat(32) }),
      clock,
    );
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
  const v3 = (env: Record<string, string> = {}, timeoutMs?: number) =>
    new PayV3Client(http(timeoutMs), config({ WECHAT_PAY_VERSION: 'v3', ...env }), clock);

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
    expect(query).toMatchObject({
      state: 'SUCCESS',
      transactionId: paid.transactionId,
      totalFen: 990,
      payerOpenid: OPENID,
      appId: APPID,
      mchId: MCHID,
    });
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
    await expect(fresh.verifyNotification(headers, body)).resolves.toMatchObject({
      kind: 'payment',
      success: true,
      orderNo: input.orderNo,
      totalFen: 990,
      payerOpenid: OPENID,
    });
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

/** A trade bill in WeChat's current layout, written here independently of src/wechat/pay/wire/trade-bill.ts. */
function billText(
  lines: Array<{ time: string; orderNo: string; state: 'SUCCESS' | 'REFUND'; yuan: string; refundNo?: string; refundYuan?: string }>,
): string {
  const header =
    '交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注';
  const rows = lines.map((l) =>
    [
      l.time,
      APPID,
      MCHID,
      '0',
      '',
      '4200000000000000000001',
      l.orderNo,
      OPENID,
      'JSAPI',
      l.state,
      'OTHERS',
      'CNY',
      l.yuan,
      '0.00',
      l.refundNo ? '5000001' : '0',
      l.refundNo ?? '0',
      l.refundYuan ?? '0.00',
      '0.00',
      l.refundNo ? 'ORIGINAL' : '',
      l.refundNo ? 'SUCCESS' : '',
      '额度',
      '',
      '0.06000',
      '0.60%',
      l.yuan,
      l.refundYuan ?? '0.00',
      '',
    ]
      .map((v) => `\`${v}`)
      .join(','),
  );
  return [
    header,
    ...rows,
    '总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额',
    `\`${lines.length},\`0.00,\`0.00,\`0.00,\`0.00,\`0.00,\`0.00`,
    '',
  ].join('\r\n');
}

describe.each(['MD5', 'HMAC-SHA256'] as const)('PayV2Client refunds and bills with %s', (signType) => {
  const client = () => new PayV2Client(http(), config({ WECHAT_PAY_VERSION: 'v2', WECHAT_PAY_SIGN_TYPE: signType }), clock);

  it('refund → PROCESSING (same out_refund_no again is the same refund) → query follows WeChat to SUCCESS; unknown → NOT_FOUND', async () => {
    const orderNo = `ORDRF${signType.slice(0, 3)}${Date.now()}`;
    fake.seedPaidOrder(orderNo, 2990, OPENID);
    const input = {
      orderNo,
      refundNo: `RF${orderNo}`,
      totalFen: 2990,
      refundFen: 1000,
      notifyUrl: 'https://www.example.com/api/v1/payment/refund-notify',
      reason: '用户申请',
    };
    const first = await client().refund(input);
    expect(first).toMatchObject({
      state: 'PROCESSING',
      refundNo: input.refundNo,
      orderNo,
      refundFen: 1000,
      totalFen: 2990,
      wxRefundId: expect.stringMatching(/^50/),
    });
    expect((await client().refund(input)).wxRefundId).toBe(first.wxRefundId);
    const sent = fake.last('/secapi/pay/refund')!.body;
    expect(sent).toMatchObject({
      out_trade_no: orderNo,
      out_refund_no: input.refundNo,
      total_fee: '2990',
      refund_fee: '1000',
      refund_desc: '用户申请',
      notify_url: input.notifyUrl,
    });
    expect(await client().queryRefund(input.refundNo)).toMatchObject({ state: 'PROCESSING' });
    fake.finishRefund(input.refundNo, 'SUCCESS');
    const done = await client().queryRefund(input.refundNo);
    expect(done).toMatchObject({ state: 'SUCCESS', refundFen: 1000, totalFen: 2990 });
    expect(done.successAt).toBeInstanceOf(Date);
    expect(await client().queryRefund('RFNOSUCHREFUND')).toMatchObject({ state: 'NOT_FOUND' });
    fake.finishRefund(input.refundNo, 'CLOSED');
    expect(await client().queryRefund(input.refundNo)).toMatchObject({ state: 'CLOSED' });
  });

  it("WeChat's refusals keep their code (PayApiError); an unpaid order cannot be refunded", async () => {
    const err = await failure(
      client().refund({ orderNo: 'ORDRFNONE', refundNo: 'RFNONE1', totalFen: 990, refundFen: 990, notifyUrl: 'https://x.example/n' }),
    );
    expect(err).toBeInstanceOf(PayApiError);
    expect((err as PayApiError).code).toBe('ORDERNOTEXIST');
  });

  it('downloadbill: the bill text is parsed; "No Bill Exist" is an empty bill; a truncated bill is an outage', async () => {
    fake.bills.set(
      '2024-04-25',
      billText([
        { time: '2024-04-25 10:05:09', orderNo: 'ORDA', state: 'SUCCESS', yuan: '29.90' },
        { time: '2024-04-25 11:00:00', orderNo: 'ORDA', state: 'REFUND', yuan: '29.90', refundNo: 'RFA', refundYuan: '10.00' },
      ]),
    );
    const rows = await client().downloadTradeBill('2024-04-25');
    expect(rows.map((r) => [r.orderNo, r.tradeState, r.totalFen, r.refundNo, r.refundFen])).toEqual([
      ['ORDA', 'SUCCESS', 2990, '', 0],
      ['ORDA', 'REFUND', 2990, 'RFA', 1000],
    ]);
    expect(fake.last('/pay/downloadbill')!.body).toMatchObject({ bill_date: '20240425', bill_type: 'ALL' });
    expect(await client().downloadTradeBill('2024-04-26')).toEqual([]);
    fake.bills.set(
      '2024-04-27',
      billText([{ time: '2024-04-27 10:05:09', orderNo: 'ORDB', state: 'SUCCESS', yuan: '9.90' }]).split('总交易单数')[0],
    );
    expect(await failure(client().downloadTradeBill('2024-04-27'))).toBeInstanceOf(PayUnavailableError);
  });
});

describe('PayV2Client refunds over TLS with the merchant API client certificate', () => {
  let tlsDir: string;
  let tlsFake: FakeWechatPay;
  const sh = (args: string[]) => execFileSync('openssl', args, { cwd: tlsDir, stdio: 'pipe' });

  beforeAll(async () => {
    // A CA standing in for Tenpay's, the server certificate of "api.mch.weixin.qq.com", and the
    // merchant's apiclient_cert.p12 (password = mch id), as WeChat hands it out.
    tlsDir = mkdtempSync(join(tmpdir(), 'pay-client-tls-'));
    sh([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      '/CN=Fake Tenpay CA',
    ]);
    sh(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
    writeFileSync(join(tlsDir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    sh([
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.pem',
      '-days',
      '2',
      '-extfile',
      'san.ext',
    ]);
    sh(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', `/CN=${MCHID}`]);
    sh(['x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.pem', '-days', '2']);
    // The client certificate as WeChat Pay hands it out (password = mch_id), and one with another password.
    const p12 = (password: string, out: string) =>
      sh([
        'pkcs12',
        '-export',
        '-in',
        'client.pem',
        '-inkey',
        'client.key',
        '-certfile',
        'ca.pem',
        '-passout',
        `pass:${password}`,
        '-out',
        out,
      ]);
    p12(MCHID, 'apiclient_cert.p12');
    p12('not-the-mch-id', 'wrong_password.p12');
    const read = (f: string) => readFileSync(join(tlsDir, f), 'utf8');
    tlsFake = await FakeWechatPay.start({
      ...fake.options,
      tls: { key: read('server.key'), cert: read('server.pem'), ca: read('ca.pem') },
    });
  });

  afterAll(async () => {
    await tlsFake?.close();
    rmSync(tlsDir, { recursive: true, force: true });
  });

  const tlsClient = (p12?: string) =>
    new PayV2Client(
      http(),
      config({
        WECHAT_PAY_VERSION: 'v2',
        WECHAT_PAY_BASE: tlsFake.url,
        ...(p12 ? { WECHAT_PAY_CLIENT_CERT_P12_PATH: join(tlsDir, p12) } : {}),
      }),
      clock,
    );
  const input = (orderNo: string) => ({
    orderNo,
    refundNo: `RF${orderNo}`,
    totalFen: 990,
    refundFen: 990,
    notifyUrl: 'https://www.example.com/api/v1/payment/refund-notify',
  });

  it('secapi/pay/refund presents apiclient_cert.p12 (password = mch id) and WeChat accepts it', async () => {
    tlsFake.seedPaidOrder('ORDTLS1', 990, OPENID);
    await expect(tlsClient('apiclient_cert.p12').refund(input('ORDTLS1'))).resolves.toMatchObject({ state: 'PROCESSING' });
    expect(tlsFake.refunds.get('RFORDTLS1')?.clientCertCn).toBe(MCHID);
  });

  it('without a certificate nothing is sent; an unusable one is refused before sending', async () => {
    tlsFake.seedPaidOrder('ORDTLS2', 990, OPENID);
    const before = tlsFake.count('/secapi/pay/refund');
    const missing = await failure(tlsClient().refund(input('ORDTLS2')));
    expect(missing).toBeInstanceOf(PayApiError);
    expect((missing as PayApiError).code).toBe('CLIENT_CERT_MISSING');
    const wrong = await failure(tlsClient('wrong_password.p12').refund(input('ORDTLS2')));
    expect((wrong as PayApiError).code).toBe('CLIENT_CERT_INVALID');
    const absent = await failure(tlsClient('no_such_file.p12').refund(input('ORDTLS2')));
    expect((absent as PayApiError).code).toBe('CLIENT_CERT_UNREADABLE');
    expect(tlsFake.count('/secapi/pay/refund')).toBe(before);
    expect(tlsFake.refunds.has('RFORDTLS2')).toBe(false);
  });
});

describe('PayV3Client refunds and bills', () => {
  const v3client = () => new PayV3Client(http(), config({ WECHAT_PAY_VERSION: 'v3' }), clock);

  it('refund → PROCESSING → query SUCCESS; unknown refund → NOT_FOUND; a refused refund keeps WeChat’s code', async () => {
    fake.seedPaidOrder('ORDV3RF1', 1800, OPENID);
    const input = {
      orderNo: 'ORDV3RF1',
      refundNo: 'RFORDV3RF1',
      totalFen: 1800,
      refundFen: 500,
      notifyUrl: 'https://www.example.com/api/v1/payment/notify',
      reason: '部分退款',
    };
    await expect(v3client().refund(input)).resolves.toMatchObject({
      state: 'PROCESSING',
      refundNo: 'RFORDV3RF1',
      orderNo: 'ORDV3RF1',
      refundFen: 500,
      totalFen: 1800,
    });
    expect(fake.last('/v3/refund/domestic/refunds')!.body).toEqual({
      out_trade_no: 'ORDV3RF1',
      out_refund_no: 'RFORDV3RF1',
      notify_url: 'https://www.example.com/api/v1/payment/notify',
      reason: '部分退款',
      amount: { refund: 500, total: 1800, currency: 'CNY' },
    });
    fake.finishRefund('RFORDV3RF1', 'SUCCESS');
    await expect(v3client().queryRefund('RFORDV3RF1')).resolves.toMatchObject({ state: 'SUCCESS', successAt: expect.any(Date) });
    await expect(v3client().queryRefund('RFNOSUCH')).resolves.toMatchObject({ state: 'NOT_FOUND' });
    const refused = await failure(v3client().refund({ ...input, refundNo: 'RFORDV3RF2', orderNo: 'ORDV3NONE' }));
    expect(refused).toBeInstanceOf(PayApiError);
    expect((refused as PayApiError).code).toBe('RESOURCE_NOT_EXISTS');
  });

  it('trade bill: signed answer, gzip file from download_url checked against hash_value; no bill → []', async () => {
    fake.bills.set('2024-05-01', billText([{ time: '2024-05-01 09:00:00', orderNo: 'ORDC', state: 'SUCCESS', yuan: '18.00' }]));
    const rows = await v3client().downloadTradeBill('2024-05-01');
    expect(rows.map((r) => [r.orderNo, r.tradeState, r.totalFen, r.tradeTime?.toISOString()])).toEqual([
      ['ORDC', 'SUCCESS', 1800, '2024-05-01T01:00:00.000Z'],
    ]);
    expect(fake.count('/v3/billdownload/file')).toBeGreaterThan(0);
    await expect(v3client().downloadTradeBill('2024-05-02')).resolves.toEqual([]);
  });
});

describe('WechatPayModule', () => {
  it.each([
    ['v2', PayV2Client],
    ['v3', PayV3Client],
  ] as const)('provides PayClient for WECHAT_PAY_VERSION=%s', async (version, type) => {
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(config({ WECHAT_PAY_VERSION: version })), CommonModule.forRoot(), WechatPayModule],
    }).compile();
    const pay = moduleRef.get(PayClient);
    expect(pay).toBeInstanceOf(type);
    expect(pay.version).toBe(version);
    await expect(pay.queryOrder('ORDVIAMODULE')).resolves.toMatchObject({ state: 'NOT_FOUND' });
    await moduleRef.close();
  });
});
