import { readFileSync } from 'node:fs';
import { sandboxKeyPaths } from '../../src/sandbox/pay/sandbox-keys';
import { randomNonce } from '../../src/wechat/nonce';
import { aesGcmDecrypt } from '../../src/wechat/pay/crypto/aes-gcm';
import { v2Sign, V2SignType, v2Verify } from '../../src/wechat/pay/crypto/v2-sign';
import { jsapiPaySign } from '../../src/wechat/pay/crypto/v3-sign';
import { parseWechatXml } from '../../src/wechat/xml';
import { eventually } from '../setup/test-app';
import {
  cfg,
  FAIL_XML,
  getJson,
  jsapiBody,
  merchantKey,
  nowSeconds,
  OPENID,
  placeV2,
  platformVerifier,
  postJson,
  receiver,
  Receiver,
  sb,
  sleep,
  v2Call,
  v3Call,
  verifyV3Headers,
  useSandboxApp,
} from './harness';

/** The payer's side of WeChat Pay: the pay action, the notifications it sends, renotify, and the pay sheet's paySign check. */
useSandboxApp();

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
