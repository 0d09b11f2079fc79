import { KeyObject } from 'node:crypto';
import { Logger } from '@nestjs/common';
import {
  CERT_SERIAL,
  createV3World,
  lowerCaseNames,
  MCHID,
  notifyBody,
  NOW,
  PUB_KEY_ID,
  REFUND,
  signHeaders,
  TRANSACTION,
  V3World,
} from '../../../../test/support/wechat-pay-v3-unit';
import { PlatformCertificate } from '../../../../test/support/fake-wechat-pay';
import { PayNotificationError } from '../pay-errors';
import { certificatesUnderTest } from '../../../../test/support/platform-certificates-under-test';
import type { V3RawResponse } from './platform-certificates';
import { V3NotificationVerifier } from './v3-notification';

let world: V3World;
let wechatPay: { privateKey: KeyObject };
let cert: PlatformCertificate;
let strangerCert: PlatformCertificate;

beforeAll(async () => {
  world = await createV3World();
  ({ wechatPay, cert, strangerCert } = world);
});

afterAll(() => world.cleanup());

/** A verifier whose certificate download answers with `answer` (our cert, signed by itself). */
function setup(answer?: () => V3RawResponse) {
  const { certificates, clock, downloads } = certificatesUnderTest(world, answer);
  const verifier = new V3NotificationVerifier(world.config, certificates, new Logger('V3NotificationSpec'));
  return { verifier, certificates, clock, downloads };
}

async function rejection(verifier: V3NotificationVerifier, headers: Record<string, string>, body: Buffer): Promise<string> {
  try {
    await verifier.verify(headers, body);
  } catch (err) {
    if (err instanceof PayNotificationError) return err.reason;
    throw err;
  }
  throw new Error('notification was accepted');
}

describe('v3 payment notification', () => {
  it('a TRANSACTION.SUCCESS signed with the WeChat Pay public key decodes to a payment', async () => {
    const { verifier } = setup();
    const body = notifyBody(TRANSACTION);
    const result = await verifier.verify(signHeaders(body, wechatPay.privateKey, PUB_KEY_ID), body);
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
    const { verifier } = setup();
    const body = notifyBody(TRANSACTION);
    const lower = lowerCaseNames(signHeaders(body, wechatPay.privateKey, PUB_KEY_ID));
    await expect(verifier.verify(lower, body)).resolves.toMatchObject({ kind: 'payment', success: true });
  });

  it('a notification signed by a platform certificate not yet known triggers one download, then verifies', async () => {
    const { verifier, certificates, downloads } = setup();
    const body = notifyBody(TRANSACTION);
    await expect(verifier.verify(signHeaders(body, cert.privateKey, CERT_SERIAL), body)).resolves.toMatchObject({
      success: true,
    });
    expect(downloads()).toBe(1);
    expect(certificates.certificateSerials()).toEqual([CERT_SERIAL]);
    // Known now: no further download.
    await verifier.verify(signHeaders(body, cert.privateKey, CERT_SERIAL), body);
    expect(downloads()).toBe(1);
  });

  it('an unknown serial refreshes at most once a minute and is bad_signature', async () => {
    const { verifier, clock, downloads } = setup();
    const body = notifyBody(TRANSACTION);
    const stranger = signHeaders(body, strangerCert.privateKey, strangerCert.serial);
    expect(await rejection(verifier, stranger, body)).toBe('bad_signature');
    expect(downloads()).toBe(1);
    expect(await rejection(verifier, stranger, body)).toBe('bad_signature');
    expect(downloads()).toBe(1);
    clock.ms += 61_000;
    expect(await rejection(verifier, signHeaders(body, strangerCert.privateKey, strangerCert.serial, String(NOW + 61)), body)).toBe(
      'bad_signature',
    );
    expect(downloads()).toBe(2);
  });

  it('a timestamp 10 minutes off either way is stale_timestamp; 4 minutes is accepted', async () => {
    const { verifier } = setup();
    const body = notifyBody(TRANSACTION);
    expect(await rejection(verifier, signHeaders(body, wechatPay.privateKey, PUB_KEY_ID, String(NOW - 600)), body)).toBe('stale_timestamp');
    expect(await rejection(verifier, signHeaders(body, wechatPay.privateKey, PUB_KEY_ID, String(NOW + 600)), body)).toBe('stale_timestamp');
    await expect(verifier.verify(signHeaders(body, wechatPay.privateKey, PUB_KEY_ID, String(NOW - 240)), body)).resolves.toMatchObject({
      success: true,
    });
  });

  it("WeChat's WECHATPAY/SIGNTEST/ probe is refused as signtest_probe", async () => {
    const { verifier } = setup();
    const body = notifyBody(TRANSACTION);
    const headers = {
      ...signHeaders(body, wechatPay.privateKey, PUB_KEY_ID),
      'Wechatpay-Signature': 'WECHATPAY/SIGNTEST/Z2VuZXJhdGVkIHByb2Jl',
    };
    expect(await rejection(verifier, headers, body)).toBe('signtest_probe');
  });

  it('a body changed after signing is bad_signature; missing headers are malformed', async () => {
    const { verifier } = setup();
    const body = notifyBody(TRANSACTION);
    const headers = signHeaders(body, wechatPay.privateKey, PUB_KEY_ID);
    expect(await rejection(verifier, headers, Buffer.from(body.toString().replace('TRANSACTION.SUCCESS', 'TRANSACTION.SUCCESS ')))).toBe(
      'bad_signature',
    );
    expect(await rejection(verifier, {}, body)).toBe('malformed');
  });

  it('a tampered ciphertext (even re-signed) is decrypt_failed', async () => {
    const { verifier } = setup();
    const envelope = JSON.parse(notifyBody(TRANSACTION).toString());
    const bytes = Buffer.from(envelope.resource.ciphertext, 'base64');
    bytes[3] ^= 0x01;
    envelope.resource.ciphertext = bytes.toString('base64');
    const body = Buffer.from(JSON.stringify(envelope));
    expect(await rejection(verifier, signHeaders(body, wechatPay.privateKey, PUB_KEY_ID), body)).toBe('decrypt_failed');
    const foreignKey = notifyBody(TRANSACTION, 'TRANSACTION.SUCCESS', 'b'.repeat(32));
    expect(await rejection(verifier, signHeaders(foreignKey, wechatPay.privateKey, PUB_KEY_ID), foreignKey)).toBe('decrypt_failed');
  });

  it('another mchid or appid is wrong_merchant', async () => {
    const { verifier } = setup();
    for (const tx of [
      { ...TRANSACTION, mchid: '1900000109' },
      { ...TRANSACTION, appid: 'wx0000000000000000' },
    ]) {
      const body = notifyBody(tx);
      expect(await rejection(verifier, signHeaders(body, wechatPay.privateKey, PUB_KEY_ID), body)).toBe('wrong_merchant');
    }
  });

  it('a v2 XML notification under the v3 configuration is wrong_protocol', async () => {
    const { verifier } = setup();
    const body = Buffer.from('<xml><return_code><![CDATA[SUCCESS]]></return_code><sign>ABC</sign></xml>');
    expect(await rejection(verifier, {}, body)).toBe('wrong_protocol');
  });

  it('other event types are verified and reported as other', async () => {
    const { verifier } = setup();
    const other = { mchid: MCHID, out_trade_no: 'ORD1', state: 'FINISHED' };
    const body = notifyBody(other, 'PROFITSHARING.FINISHED');
    await expect(verifier.verify(signHeaders(body, wechatPay.privateKey, PUB_KEY_ID), body)).resolves.toEqual({
      kind: 'other',
      eventType: 'PROFITSHARING.FINISHED',
    });
    // Still signature-checked.
    expect(await rejection(verifier, signHeaders(body, strangerCert.privateKey, PUB_KEY_ID), body)).toBe('bad_signature');
  });
});

describe('v3 refund notification (REFUND.*)', () => {
  it('REFUND.SUCCESS decrypts to a refund result', async () => {
    const { verifier } = setup();
    const body = notifyBody(REFUND, 'REFUND.SUCCESS');
    const n = await verifier.verify(signHeaders(body, wechatPay.privateKey, PUB_KEY_ID), body);
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
    await expect(verifier.verifyRefund(signHeaders(body, wechatPay.privateKey, PUB_KEY_ID), body)).resolves.toMatchObject({
      kind: 'refund',
    });
  });

  it.each([
    ['REFUND.CLOSED', 'CLOSED'],
    ['REFUND.ABNORMAL', 'ABNORMAL'],
  ])('%s is %s', async (eventType, status) => {
    const { verifier } = setup();
    const body = notifyBody({ ...REFUND, refund_status: status, success_time: undefined }, eventType);
    await expect(verifier.verify(signHeaders(body, wechatPay.privateKey, PUB_KEY_ID), body)).resolves.toMatchObject({
      kind: 'refund',
      status,
      successAt: undefined,
    });
  });

  it('forged, undecryptable, foreign or contradictory refund notifications are refused', async () => {
    const { verifier } = setup();
    const body = notifyBody(REFUND, 'REFUND.SUCCESS');
    expect(await rejection(verifier, signHeaders(body, strangerCert.privateKey, PUB_KEY_ID), body)).toBe('bad_signature');
    const foreignKey = notifyBody(REFUND, 'REFUND.SUCCESS', 'b'.repeat(32));
    expect(await rejection(verifier, signHeaders(foreignKey, wechatPay.privateKey, PUB_KEY_ID), foreignKey)).toBe('decrypt_failed');
    for (const [resource, reason] of [
      [{ ...REFUND, mchid: '1900000109' }, 'wrong_merchant'],
      [{ ...REFUND, mchid: undefined }, 'wrong_merchant'],
      [{ ...REFUND, refund_status: 'CLOSED' }, 'malformed'],
      [{ ...REFUND, amount: { total: 990 } }, 'malformed'],
      [{ ...REFUND, out_refund_no: undefined }, 'malformed'],
    ] as const) {
      const b = notifyBody(resource, 'REFUND.SUCCESS');
      expect(await rejection(verifier, signHeaders(b, wechatPay.privateKey, PUB_KEY_ID), b)).toBe(reason);
    }
  });

  it('a payment notification on the refund URL is refused', async () => {
    const { verifier } = setup();
    const body = notifyBody(TRANSACTION);
    await expect(verifier.verifyRefund(signHeaders(body, wechatPay.privateKey, PUB_KEY_ID), body)).rejects.toMatchObject({
      reason: 'malformed',
    });
  });
});
