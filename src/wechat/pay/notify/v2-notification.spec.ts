import { createCipheriv, createHash, createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppConfig } from '../../../config/app-config';
import { loadConfig } from '../../../config/load-config';
import { PayNotificationError } from '../pay-errors';
import { verifyV2Notification, verifyV2RefundNotification } from './v2-notification';

const APPID = 'wxd930ea5d5a258f4f';
const MCHID = '10000100';
const KEY = '192006250b4c09247ec02edce69f6a2d';

let dir: string;
const configs: Record<'MD5' | 'HMAC-SHA256', AppConfig> = {} as never;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pay-v2-spec-'));
  for (const signType of ['MD5', 'HMAC-SHA256'] as const) {
    configs[signType] = loadConfig(
      {
        NODE_ENV: 'test',
        SESSION_SECRET: 'x'.repeat(40),
        WECHAT_APPID: APPID,
        WECHAT_PAY_VERSION: 'v2',
        WECHAT_PAY_MCHID: MCHID,
        WECHAT_PAY_API_KEY: KEY,
        WECHAT_PAY_SIGN_TYPE: signType,
      },
      { cwd: dir },
    );
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** WeChat's v2 signature, written out independently of v2-sign.ts. */
function sign(fields: Record<string, string>, signType: 'MD5' | 'HMAC-SHA256', key = KEY): string {
  const text = `${Object.keys(fields)
    .filter((k) => k !== 'sign' && fields[k] !== '')
    .sort()
    .map((k) => `${k}=${fields[k]}`)
    .join('&')}&key=${key}`;
  return (signType === 'MD5' ? createHash('md5').update(text) : createHmac('sha256', key).update(text)).digest('hex').toUpperCase();
}

function xml(fields: Record<string, string>): Buffer {
  return Buffer.from(
    `<xml>${Object.entries(fields)
      .map(([k, v]) => `<${k}><![CDATA[${v}]]></${k}>`)
      .join('')}</xml>`,
  );
}

function paidFields(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    appid: APPID,
    bank_type: 'CFT',
    cash_fee: '2990',
    fee_type: 'CNY',
    is_subscribe: 'Y',
    mch_id: MCHID,
    nonce_str: '5d2b6c2a8db53831f7eda20af46e531c',
    openid: 'oUpF8uMEb4qRXf22hE3X68TekukE',
    out_trade_no: 'ORD20240425100000ABC123',
    result_code: 'SUCCESS',
    return_code: 'SUCCESS',
    time_end: '20240425100509',
    total_fee: '2990',
    trade_type: 'JSAPI',
    transaction_id: '4200002216202404251234567890',
    ...overrides,
  };
}

function notification(fields: Record<string, string>, signType: 'MD5' | 'HMAC-SHA256' = 'MD5', key = KEY): Buffer {
  return xml({ ...fields, sign: sign(fields, signType, key) });
}

async function rejection(body: Buffer, config = configs.MD5, headers = {}): Promise<string> {
  try {
    await verifyV2Notification(config, headers, body);
  } catch (err) {
    if (err instanceof PayNotificationError) return err.reason;
    throw err;
  }
  throw new Error('notification was accepted');
}

describe('v2 payment notification', () => {
  it('a paid MD5 notification decodes to a successful payment', async () => {
    const body = notification(paidFields());
    const result = await verifyV2Notification(configs.MD5, {}, body);
    expect(result).toEqual({
      kind: 'payment',
      success: true,
      orderNo: 'ORD20240425100000ABC123',
      transactionId: '4200002216202404251234567890',
      totalFen: 2990,
      payerOpenid: 'oUpF8uMEb4qRXf22hE3X68TekukE',
      paidAt: new Date('2024-04-25T02:05:09Z'),
      raw: body.toString('utf8'),
    });
  });

  it('an HMAC-SHA256 notification carrying sign_type verifies under either configured type', async () => {
    const body = notification(paidFields({ sign_type: 'HMAC-SHA256' }), 'HMAC-SHA256');
    await expect(verifyV2Notification(configs.MD5, {}, body)).resolves.toMatchObject({ kind: 'payment', success: true, totalFen: 2990 });
    await expect(verifyV2Notification(configs['HMAC-SHA256'], {}, body)).resolves.toMatchObject({ kind: 'payment', success: true });
  });

  it('an unlabelled HMAC-SHA256 notification is accepted only when the merchant signs with HMAC-SHA256', async () => {
    const body = notification(paidFields(), 'HMAC-SHA256');
    await expect(verifyV2Notification(configs['HMAC-SHA256'], {}, body)).resolves.toMatchObject({ success: true });
    expect(await rejection(body, configs.MD5)).toBe('bad_signature');
  });

  it('a bad, missing or foreign-key sign is bad_signature', async () => {
    const tampered = xml({ ...paidFields(), sign: sign(paidFields(), 'MD5') })
      .toString()
      .replace('<total_fee><![CDATA[2990]]>', '<total_fee><![CDATA[1]]>');
    expect(await rejection(Buffer.from(tampered))).toBe('bad_signature');
    expect(await rejection(xml(paidFields()))).toBe('bad_signature');
    expect(await rejection(notification(paidFields(), 'MD5', 'a'.repeat(32)))).toBe('bad_signature');
  });

  it('another appid or mch_id is wrong_merchant, even correctly signed', async () => {
    expect(await rejection(notification(paidFields({ appid: 'wx0000000000000000' })))).toBe('wrong_merchant');
    expect(await rejection(notification(paidFields({ mch_id: '19999999' })))).toBe('wrong_merchant');
  });

  it('return_code FAIL is return_fail', async () => {
    expect(await rejection(xml({ return_code: 'FAIL', return_msg: '签名失败' }))).toBe('return_fail');
  });

  it('result_code FAIL is a failed payment, not an error', async () => {
    const fields = paidFields({ result_code: 'FAIL', err_code: 'PAYERROR', err_code_des: '支付失败' });
    delete (fields as Partial<typeof fields>).transaction_id;
    delete (fields as Partial<typeof fields>).time_end;
    const result = await verifyV2Notification(configs.MD5, {}, notification(fields));
    expect(result).toMatchObject({ kind: 'payment', success: false, orderNo: 'ORD20240425100000ABC123', transactionId: '' });
    expect(result.kind === 'payment' && result.paidAt).toBeUndefined();
  });

  it('a refund notification (req_info, no sign) reaching the pay URL is decoded as a refund; garbage req_info is decrypt_failed', async () => {
    const body = xml({
      return_code: 'SUCCESS',
      appid: APPID,
      mch_id: MCHID,
      nonce_str: 'n',
      req_info: 'T87GAHG17TGAHG1TGHAHAHA1Y1CIOA9UGJH1GAHV871HAGAGQYQQPOOJMXNBCXBVNMNMAJAA',
    });
    expect(await rejection(body)).toBe('decrypt_failed');
    const genuine = refundNotification(refundInfo());
    await expect(verifyV2Notification(configs.MD5, {}, genuine)).resolves.toMatchObject({
      kind: 'refund',
      status: 'SUCCESS',
      refundNo: 'RF20240425110000ABCDEFGH',
    });
  });

  it('a DOCTYPE / entity body is refused as malformed before parsing', async () => {
    const body = Buffer.from(
      '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><return_code>&x;</return_code></xml>',
    );
    expect(await rejection(body)).toBe('malformed');
    expect(await rejection(Buffer.from('<xml><return_code>SUCCESS</return_code>'))).toBe('malformed');
  });

  it('a v3 JSON notification under the v2 configuration is wrong_protocol', async () => {
    const body = Buffer.from('{"id":"EV-1","event_type":"TRANSACTION.SUCCESS","resource":{"ciphertext":"x"}}');
    expect(await rejection(body, configs.MD5, { 'Wechatpay-Signature': 'abc', 'Wechatpay-Serial': 'PUB_KEY_ID_1' })).toBe('wrong_protocol');
  });

  it('a signed success without transaction_id or with a non-integer total_fee is malformed', async () => {
    const fields = paidFields();
    delete (fields as Partial<typeof fields>).transaction_id;
    expect(await rejection(notification(fields))).toBe('malformed');
    expect(await rejection(notification(paidFields({ total_fee: '29.90' })))).toBe('malformed');
  });
});

// ---- refund notifications (req_info = AES-256-ECB, key = lowercase hex MD5 of the API key) -------

/** WeChat's side, written independently of v2-refund-crypto.ts. */
function encryptReqInfo(plain: string, key = KEY): string {
  const aesKey = Buffer.from(createHash('md5').update(key).digest('hex'), 'ascii');
  const cipher = createCipheriv('aes-256-ecb', aesKey, null);
  return Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]).toString('base64');
}

function refundInfo(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    transaction_id: '4200002216202404251234567890',
    out_trade_no: 'ORD20240425100000ABC123',
    refund_id: '50000000382019052709732678859',
    out_refund_no: 'RF20240425110000ABCDEFGH',
    total_fee: '2990',
    settlement_total_fee: '2990',
    refund_fee: '1000',
    settlement_refund_fee: '1000',
    refund_status: 'SUCCESS',
    success_time: '2024-04-25 11:00:09',
    refund_recv_accout: '支付用户零钱',
    refund_account: 'REFUND_SOURCE_RECHARGE_FUNDS',
    refund_request_source: 'API',
    ...overrides,
  };
}

function refundNotification(info: Record<string, string>, outer: Record<string, string> = {}, key = KEY): Buffer {
  const root = `<root>${Object.entries(info)
    .map(([k, v]) => `<${k}><![CDATA[${v}]]></${k}>`)
    .join('')}</root>`;
  return xml({
    return_code: 'SUCCESS',
    appid: APPID,
    mch_id: MCHID,
    nonce_str: '0b9f35f484df17a732e537c37708d1d0',
    req_info: encryptReqInfo(root, key),
    ...outer,
  });
}

async function refundRejection(body: Buffer, headers = {}): Promise<string> {
  try {
    await verifyV2RefundNotification(configs.MD5, headers, body);
  } catch (err) {
    if (err instanceof PayNotificationError) return err.reason;
    throw err;
  }
  throw new Error('refund notification was accepted');
}

describe('v2 refund notification (req_info)', () => {
  it('decrypts and decodes a refund result: amounts in fen, success_time as the Shanghai instant', async () => {
    const n = await verifyV2RefundNotification(configs.MD5, {}, refundNotification(refundInfo()));
    expect(n).toEqual({
      kind: 'refund',
      status: 'SUCCESS',
      orderNo: 'ORD20240425100000ABC123',
      refundNo: 'RF20240425110000ABCDEFGH',
      wxRefundId: '50000000382019052709732678859',
      transactionId: '4200002216202404251234567890',
      refundFen: 1000,
      totalFen: 2990,
      successAt: new Date('2024-04-25T03:00:09Z'),
      raw: expect.stringContaining('<out_refund_no><![CDATA[RF20240425110000ABCDEFGH]]></out_refund_no>'),
    });
  });

  it.each([
    ['REFUNDCLOSE', 'CLOSED'],
    ['CHANGE', 'ABNORMAL'],
  ])('refund_status %s is %s', async (v2, status) => {
    const info = refundInfo({ refund_status: v2 });
    delete info.success_time;
    await expect(verifyV2RefundNotification(configs.MD5, {}, refundNotification(info))).resolves.toMatchObject({
      status,
      successAt: undefined,
    });
  });

  it('req_info under another key, tampered or not base64 is decrypt_failed; nothing else in the body is trusted', async () => {
    expect(await refundRejection(refundNotification(refundInfo(), {}, 'another-api-key-0000000000000000'))).toBe('decrypt_failed');
    const fields = { return_code: 'SUCCESS', appid: APPID, mch_id: MCHID, nonce_str: 'n', req_info: 'not base64!' };
    expect(await refundRejection(xml(fields))).toBe('decrypt_failed');
    const bytes = Buffer.from(
      encryptReqInfo(`<root><out_refund_no>RF1</out_refund_no><refund_status>SUCCESS</refund_status></root>`),
      'base64',
    );
    bytes[0] ^= 0x20; // first block garbled: still valid padding, no longer a document
    expect(await refundRejection(xml({ ...fields, req_info: bytes.toString('base64') }))).toBe('decrypt_failed');
  });

  it('another merchant, return_code FAIL, a document without amounts or with PROCESSING are refused', async () => {
    expect(await refundRejection(refundNotification(refundInfo(), { mch_id: '1999999999' }))).toBe('wrong_merchant');
    expect(await refundRejection(refundNotification(refundInfo(), { appid: 'wx0000000000000bad' }))).toBe('wrong_merchant');
    expect(await refundRejection(refundNotification(refundInfo(), { return_code: 'FAIL' }))).toBe('return_fail');
    expect(await refundRejection(refundNotification(refundInfo({ refund_fee: '10.00' })))).toBe('malformed');
    expect(await refundRejection(refundNotification(refundInfo({ refund_status: 'PROCESSING' })))).toBe('malformed');
  });

  it('a payment notification, a v3 body or no req_info on the refund URL is refused', async () => {
    expect(await refundRejection(notification(paidFields()))).toBe('malformed');
    expect(await refundRejection(Buffer.from('{"event_type":"REFUND.SUCCESS"}'), { 'Wechatpay-Signature': 'x' })).toBe('wrong_protocol');
  });
});
