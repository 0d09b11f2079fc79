import { v2Sign, v2Verify } from '../../src/wechat/pay/crypto/v2-sign';
import { buildXml } from '../../src/wechat/xml';
import { cfg, type Fields, newOutTradeNo, OPENID, placeV2, postJson, receiver, sb, v2Call, useSandboxApp } from './harness';

/** WeChat Pay v2 (XML, signed both ways) played from the merchant side. */
useSandboxApp();

describe('WeChat Pay v2', () => {
  it('unifiedorder: MD5 and HMAC-SHA256 requests get a prepay_id and a response signed the same way', async () => {
    const md5 = await placeV2();
    expect(md5.prepayId).toMatch(/^wx\d{14}[0-9a-f]{24}$/);
    const f = md5.response.fields;
    expect(f).toMatchObject({ return_msg: 'OK', appid: cfg.wechat.appId, mch_id: cfg.pay.mchId, trade_type: 'JSAPI' });
    expect(f.sign).toBe(v2Sign(f, cfg.pay.apiKey, 'MD5'));
    const hmac = await placeV2({}, 'HMAC-SHA256');
    expect(hmac.response.fields.sign).toBe(v2Sign(hmac.response.fields, cfg.pay.apiKey, 'HMAC-SHA256'));
    expect(hmac.response.fields.sign).not.toBe(v2Sign(hmac.response.fields, cfg.pay.apiKey, 'MD5'));
  });

  it('refuses a wrong signature with return_code FAIL (unsigned) and creates nothing', async () => {
    const outTradeNo = newOutTradeNo();
    const fields = {
      body: 'x',
      out_trade_no: outTradeNo,
      total_fee: 1,
      spbill_create_ip: '127.0.0.1',
      notify_url: `${receiver.url}/notify/v2`,
      trade_type: 'JSAPI',
      openid: OPENID,
    };
    const bad = await v2Call('unifiedorder', fields, { key: 'another-key-0000000000000000000' });
    expect(bad.fields).toEqual({ return_code: 'FAIL', return_msg: '签名错误' });
    const q = await v2Call('orderquery', { out_trade_no: outTradeNo });
    expect(q.fields).toMatchObject({ return_code: 'SUCCESS', result_code: 'FAIL', err_code: 'ORDERNOTEXIST' });
    // A sign_type that does not match the signature also fails.
    const params: Fields = { appid: cfg.wechat.appId, mch_id: cfg.pay.mchId, nonce_str: 'n', ...fields, sign_type: 'HMAC-SHA256' };
    params.sign = v2Sign(params, cfg.pay.apiKey, 'MD5');
    expect((await v2Call('unifiedorder', {}, { raw: buildXml(params) })).fields.return_msg).toBe('签名错误');
  });

  it('validates like WeChat: appid, mch_id, required fields, total_fee, openid, XML', async () => {
    const base = {
      body: 'x',
      out_trade_no: newOutTradeNo(),
      total_fee: 1,
      spbill_create_ip: '127.0.0.1',
      notify_url: `${receiver.url}/notify/v2`,
      trade_type: 'JSAPI',
      openid: OPENID,
    };
    const wrongAppid = await v2Call('unifiedorder', { ...base, appid: 'wxother' });
    expect(wrongAppid.fields).toMatchObject({ return_code: 'SUCCESS', result_code: 'FAIL', err_code: 'APPID_MCHID_NOT_MATCH' });
    expect(v2Verify(wrongAppid.fields, cfg.pay.apiKey)).toBe(true);
    expect((await v2Call('unifiedorder', { ...base, mch_id: '1234567890' })).fields.return_code).toBe('FAIL');
    const { out_trade_no: _omit, ...noNumber } = base;
    expect((await v2Call('unifiedorder', noNumber)).fields).toEqual({ return_code: 'FAIL', return_msg: '缺少参数out_trade_no' });
    for (const fee of [0, -1, '1.5', 'abc']) {
      expect((await v2Call('unifiedorder', { ...base, out_trade_no: newOutTradeNo(), total_fee: fee })).fields).toEqual({
        return_code: 'FAIL',
        return_msg: 'invalid total_fee',
      });
    }
    const { openid: _o, ...noOpenid } = base;
    expect((await v2Call('unifiedorder', noOpenid)).fields).toMatchObject({ result_code: 'FAIL', err_code: 'PARAM_ERROR' });
    expect((await v2Call('unifiedorder', {}, { raw: 'not xml' })).fields).toEqual({ return_code: 'FAIL', return_msg: 'XML格式错误' });
    expect((await v2Call('unifiedorder', {}, { raw: '<!DOCTYPE x [<!ENTITY a "b">]><xml><a>&a;</a></xml>' })).fields.return_code).toBe(
      'FAIL',
    );
  });

  it('same out_trade_no: same content → same prepay_id; other content → INVALID_REQUEST; paid → ORDERPAID', async () => {
    const placed = await placeV2();
    const again = await v2Call('unifiedorder', {
      body: '会员服务',
      out_trade_no: placed.outTradeNo,
      total_fee: 2990,
      spbill_create_ip: '10.0.0.9',
      notify_url: `${receiver.url}/notify/v2`,
      trade_type: 'JSAPI',
      openid: OPENID,
    });
    expect(again.fields.prepay_id).toBe(placed.prepayId);
    const changed = await v2Call('unifiedorder', {
      body: '会员服务',
      out_trade_no: placed.outTradeNo,
      total_fee: 1,
      spbill_create_ip: '127.0.0.1',
      notify_url: `${receiver.url}/notify/v2`,
      trade_type: 'JSAPI',
      openid: OPENID,
    });
    expect(changed.fields).toMatchObject({ result_code: 'FAIL', err_code: 'INVALID_REQUEST' });
    await postJson(sb('/actions/pay'), { prepay_id: placed.prepayId, result: 'success', notify: 'never' });
    const paid = await v2Call('unifiedorder', {
      body: '会员服务',
      out_trade_no: placed.outTradeNo,
      total_fee: 2990,
      spbill_create_ip: '127.0.0.1',
      notify_url: `${receiver.url}/notify/v2`,
      trade_type: 'JSAPI',
      openid: OPENID,
    });
    expect(paid.fields).toMatchObject({ result_code: 'FAIL', err_code: 'ORDERPAID' });
    const close = await v2Call('closeorder', { out_trade_no: placed.outTradeNo });
    expect(close.fields).toMatchObject({ result_code: 'FAIL', err_code: 'ORDERPAID' });
  });

  it('orderquery and closeorder follow the order through NOTPAY → CLOSED', async () => {
    const placed = await placeV2({ attach: 'member' });
    const q1 = await v2Call('orderquery', { out_trade_no: placed.outTradeNo });
    expect(q1.fields).toMatchObject({
      result_code: 'SUCCESS',
      trade_state: 'NOTPAY',
      out_trade_no: placed.outTradeNo,
      total_fee: '2990',
      attach: 'member',
    });
    expect(v2Verify(q1.fields, cfg.pay.apiKey)).toBe(true);
    const closed = await v2Call('closeorder', { out_trade_no: placed.outTradeNo });
    expect(closed.fields).toMatchObject({ return_code: 'SUCCESS', result_code: 'SUCCESS' });
    expect(v2Verify(closed.fields, cfg.pay.apiKey)).toBe(true);
    expect((await v2Call('orderquery', { out_trade_no: placed.outTradeNo })).fields.trade_state).toBe('CLOSED');
    expect((await v2Call('closeorder', { out_trade_no: placed.outTradeNo })).fields.err_code).toBe('ORDERCLOSED');
    expect((await postJson(sb('/actions/pay'), { prepay_id: placed.prepayId, result: 'success' })).status).toBe(409);
    const reopen = await v2Call('unifiedorder', {
      body: '会员服务',
      out_trade_no: placed.outTradeNo,
      total_fee: 2990,
      spbill_create_ip: '127.0.0.1',
      notify_url: `${receiver.url}/notify/v2`,
      trade_type: 'JSAPI',
      openid: OPENID,
      attach: 'member',
    });
    expect(reopen.fields.err_code).toBe('ORDERCLOSED');
  });

  it('faults: pay=down drops the connection, pay=slow outlasts the client timeout, bad_signature signs wrongly', async () => {
    await postJson(sb('/faults'), { pay: 'down' });
    await expect(v2Call('orderquery', { out_trade_no: 'X' })).rejects.toThrow();
    await postJson(sb('/faults'), { pay: 'slow', slow_ms: 2000 });
    const started = Date.now();
    await expect(
      fetch(sb('/pay/pay/orderquery'), {
        method: 'POST',
        headers: { 'Content-Type': 'text/xml' },
        body: '<xml/>',
        signal: AbortSignal.timeout(300),
      }),
    ).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1500);
    await postJson(sb('/faults'), { pay: 'bad_signature' });
    const placed = await placeV2();
    expect(v2Verify(placed.response.fields, cfg.pay.apiKey)).toBe(false);
  });
});
