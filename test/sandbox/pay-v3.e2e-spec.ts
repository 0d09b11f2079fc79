import { createPublicKey, X509Certificate } from 'node:crypto';
import { aesGcmDecrypt } from '../../src/wechat/pay/crypto/aes-gcm';
import { V3SignatureVerifier } from '../../src/wechat/pay/crypto/v3-verifier';
import {
  cfg,
  getJson,
  jsapiBody,
  nowSeconds,
  OPENID,
  platformPublicPem,
  platformVerifier,
  postJson,
  sb,
  v3Call,
  type V3Options,
  verifyV3Headers,
  useSandboxApp,
} from './harness';

/** WeChat Pay APIv3 (merchant Authorization checked, answers signed with the platform key) played from the merchant side. */
useSandboxApp();

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
