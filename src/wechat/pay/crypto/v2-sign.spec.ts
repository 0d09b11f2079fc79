import { createHash, createHmac } from 'node:crypto';
import { buildV2JsapiPaymentParams, v2Sign, v2SignString, v2Verify, verifyV2ResponseSign } from './v2-sign';

// docs/test-vectors.md, "WeChat Pay v2 signature"
const KEY = '192006250b4c09247ec02edce69f6a2d';
const PARAMS = { appid: 'wxd930ea5d5a258f4f', body: 'test', device_info: '1000', mch_id: '10000100', nonce_str: 'ibuaiVcKdpRxkhJA' };
const STRING =
  'appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100&nonce_str=ibuaiVcKdpRxkhJA&key=192006250b4c09247ec02edce69f6a2d';
const MD5 = '9A0A8659F005D6984697E2CA0A9CF3B7';
const HMAC = '6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6';

describe('v2SignString', () => {
  it('reproduces the published string to sign', () => {
    expect(v2SignString(PARAMS, KEY)).toBe(STRING);
  });

  it('sorts keys by ASCII (uppercase before lowercase, "_" between), whatever the input order', () => {
    expect(v2SignString({ nonce_str: 'n', b: '2', B: '1', a_b: '3', ab: '4', a: '5' }, 'k')).toBe(
      'B=1&a=5&a_b=3&ab=4&b=2&nonce_str=n&key=k',
    );
  });

  it('skips empty, undefined and null values and the sign field, but keeps sign_type and numbers', () => {
    expect(v2SignString({ ...PARAMS, sign: 'X', empty: '', missing: undefined, nothing: null }, KEY)).toBe(STRING);
    expect(v2SignString({ total_fee: 1, sign_type: 'MD5', zero: 0 }, 'k')).toBe('sign_type=MD5&total_fee=1&zero=0&key=k');
  });

  it('refuses an empty key', () => {
    expect(() => v2SignString(PARAMS, '')).toThrow(TypeError);
  });
});

describe('v2Sign', () => {
  it('reproduces the published MD5 signature (the default)', () => {
    expect(v2Sign(PARAMS, KEY, 'MD5')).toBe(MD5);
    expect(v2Sign(PARAMS, KEY)).toBe(MD5);
  });

  it('reproduces the published HMAC-SHA256 signature', () => {
    expect(v2Sign(PARAMS, KEY, 'HMAC-SHA256')).toBe(HMAC);
  });
});

describe('v2Verify', () => {
  it('accepts the published MD5 signature, and HMAC-SHA256 when sign_type says so', () => {
    expect(v2Verify({ ...PARAMS, sign: MD5 }, KEY)).toBe(true);
    const hmacParams = { ...PARAMS, sign_type: 'HMAC-SHA256' };
    expect(v2Verify({ ...hmacParams, sign: v2Sign(hmacParams, KEY, 'HMAC-SHA256') }, KEY)).toBe(true);
    expect(v2Verify({ ...PARAMS, sign_type: 'MD5', sign: v2Sign({ ...PARAMS, sign_type: 'MD5' }, KEY) }, KEY)).toBe(true);
  });

  it('keeps unknown extra fields: a notification with new fields verifies, and they are covered', () => {
    const notification = { ...PARAMS, coupon_fee_0: '10', new_field_from_wechat: 'x', empty_one: '' };
    const sign = v2Sign(notification, KEY);
    expect(v2Verify({ ...notification, sign }, KEY)).toBe(true);
    expect(v2Verify({ ...notification, new_field_from_wechat: 'y', sign }, KEY)).toBe(false);
  });

  it('rejects a flip of any signature character', () => {
    for (let i = 0; i < MD5.length; i++) {
      const sign = MD5.slice(0, i) + (MD5[i] === 'A' ? 'B' : 'A') + MD5.slice(i + 1);
      expect(v2Verify({ ...PARAMS, sign }, KEY)).toBe(false);
    }
  });

  it('rejects a lowercase signature (WeChat sends upper hex; comparison is exact)', () => {
    expect(v2Verify({ ...PARAMS, sign: MD5.toLowerCase() }, KEY)).toBe(false);
  });

  it('rejects any changed, added or removed field', () => {
    for (const name of Object.keys(PARAMS) as Array<keyof typeof PARAMS>) {
      expect(v2Verify({ ...PARAMS, [name]: `${PARAMS[name]}x`, sign: MD5 }, KEY)).toBe(false);
      const { [name]: _removed, ...rest } = PARAMS;
      expect(v2Verify({ ...rest, sign: MD5 }, KEY)).toBe(false);
    }
    expect(v2Verify({ ...PARAMS, total_fee: '1', sign: MD5 }, KEY)).toBe(false);
  });

  it('rejects the wrong key, a missing or empty sign', () => {
    expect(v2Verify({ ...PARAMS, sign: MD5 }, `${KEY}x`)).toBe(false);
    expect(v2Verify(PARAMS, KEY)).toBe(false);
    expect(v2Verify({ ...PARAMS, sign: '' }, KEY)).toBe(false);
  });

  it('does not let sign_type switch algorithms: an MD5 sign under sign_type=HMAC-SHA256 fails, and vice versa', () => {
    expect(v2Verify({ ...PARAMS, sign_type: 'HMAC-SHA256', sign: MD5 }, KEY)).toBe(false);
    expect(v2Verify({ ...PARAMS, sign: HMAC }, KEY)).toBe(false);
  });

  it('rejects unknown sign types instead of falling back to MD5', () => {
    const params = { ...PARAMS, sign_type: 'SHA1' };
    expect(v2Verify({ ...params, sign: v2Sign(params, KEY, 'MD5') }, KEY)).toBe(false);
  });
});

// ---- the helpers built on v2Sign, checked against WeChat's algorithm written out independently ----

const APPID = PARAMS.appid;
const MCHID = PARAMS.mch_id;

function independentSign(fields: Record<string, string>, signType: 'MD5' | 'HMAC-SHA256', key = KEY): string {
  const text = `${Object.keys(fields)
    .filter((k) => k !== 'sign' && fields[k] !== '')
    .sort()
    .map((k) => `${k}=${fields[k]}`)
    .join('&')}&key=${key}`;
  return (signType === 'MD5' ? createHash('md5').update(text) : createHmac('sha256', key).update(text)).digest('hex').toUpperCase();
}

describe('v2 JSAPI payment parameters', () => {
  it('MD5: paySign over appId, nonceStr, package, signType, timeStamp with the API key', () => {
    const params = buildV2JsapiPaymentParams(
      APPID,
      'wx2017033010242291fcfe0db70013231072',
      KEY,
      'MD5',
      '1490840662',
      '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
    );
    const expected = createHash('md5')
      .update(
        `appId=${APPID}&nonceStr=5K8264ILTKCH16CQ2502SI8ZNMTM67VS&package=prepay_id=wx2017033010242291fcfe0db70013231072&signType=MD5&timeStamp=1490840662&key=${KEY}`,
      )
      .digest('hex')
      .toUpperCase();
    expect(params).toEqual({
      appId: APPID,
      timeStamp: '1490840662',
      nonceStr: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
      package: 'prepay_id=wx2017033010242291fcfe0db70013231072',
      signType: 'MD5',
      paySign: expected,
    });
  });

  it('HMAC-SHA256: the same fields, HMAC keyed with the API key, upper hex', () => {
    const params = buildV2JsapiPaymentParams(APPID, 'wx01', KEY, 'HMAC-SHA256', '1490840662', 'abc');
    const text = `appId=${APPID}&nonceStr=abc&package=prepay_id=wx01&signType=HMAC-SHA256&timeStamp=1490840662&key=${KEY}`;
    expect(params.signType).toBe('HMAC-SHA256');
    expect(params.paySign).toBe(createHmac('sha256', KEY).update(text).digest('hex').toUpperCase());
    expect(params.paySign).toMatch(/^[0-9A-F]{64}$/);
  });

  it('every value is a string and the nonce is random when not given', () => {
    const a = buildV2JsapiPaymentParams(APPID, 'wx01', KEY, 'MD5', '1');
    const b = buildV2JsapiPaymentParams(APPID, 'wx01', KEY, 'MD5', '1');
    for (const value of Object.values(a)) expect(typeof value).toBe('string');
    expect(a.nonceStr).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(a.nonceStr).not.toBe(b.nonceStr);
  });
});

describe('v2 answer signatures', () => {
  const answer = { return_code: 'SUCCESS', appid: APPID, mch_id: MCHID, nonce_str: 'n', result_code: 'SUCCESS', prepay_id: 'wx01' };

  it('an answer without sign_type is checked with the type of the request', () => {
    const hmac = { ...answer, sign: independentSign(answer, 'HMAC-SHA256') };
    expect(verifyV2ResponseSign(hmac, KEY, 'HMAC-SHA256')).toBe(true);
    expect(verifyV2ResponseSign(hmac, KEY, 'MD5')).toBe(false);
    const md5 = { ...answer, sign: independentSign(answer, 'MD5') };
    expect(verifyV2ResponseSign(md5, KEY, 'MD5')).toBe(true);
  });

  it('a missing, altered or foreign-key sign fails', () => {
    expect(verifyV2ResponseSign(answer, KEY, 'MD5')).toBe(false);
    expect(verifyV2ResponseSign({ ...answer, prepay_id: 'wx02', sign: independentSign(answer, 'MD5') }, KEY, 'MD5')).toBe(false);
    expect(verifyV2ResponseSign({ ...answer, sign: independentSign(answer, 'MD5', 'f'.repeat(32)) }, KEY, 'MD5')).toBe(false);
  });
});
