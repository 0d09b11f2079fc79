import { createSign, createVerify, generateKeyPairSync, KeyObject } from 'node:crypto';
import {
  buildJsapiPayParams,
  buildV3Authorization,
  jsapiPayMessage,
  jsapiPaySign,
  parseV3Authorization,
  v3RequestMessage,
  v3ResponseMessage,
  v3SignRsa,
  v3VerifyRsa,
} from './v3-sign';

let merchant: { privateKey: KeyObject; publicKey: KeyObject };
let other: { privateKey: KeyObject; publicKey: KeyObject };
let privatePem: string;
let publicPem: string;

beforeAll(() => {
  merchant = generateKeyPairSync('rsa', { modulusLength: 2048 });
  other = generateKeyPairSync('rsa', { modulusLength: 2048 });
  privatePem = merchant.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  publicPem = merchant.publicKey.export({ type: 'spki', format: 'pem' }).toString();
});

/** Independent SHA256withRSA check, so our sign and verify are not only tested against each other. */
function referenceVerify(message: string | Buffer, signature: string, publicKey: KeyObject): boolean {
  return createVerify('RSA-SHA256').update(message).verify(publicKey, signature, 'base64');
}

function flipBase64Byte(b64: string, index: number): string {
  const bytes = Buffer.from(b64, 'base64');
  bytes[index] ^= 0x01;
  return bytes.toString('base64');
}

describe('v3 messages', () => {
  it('builds the request message METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nBODY\\n (empty body for GET)', () => {
    expect(v3RequestMessage('GET', '/v3/certificates', '1554208460', '593BEC0C930BF1AFEB40B4A08C8FB242', '')).toBe(
      'GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n',
    );
    expect(v3RequestMessage('post', '/v3/pay/transactions/jsapi?x=1', 1554208460, 'N', '{"a":1}')).toBe(
      'POST\n/v3/pay/transactions/jsapi?x=1\n1554208460\nN\n{"a":1}\n',
    );
  });

  it('builds the response/notification message TIMESTAMP\\nNONCE\\nBODY\\n over raw bytes', () => {
    expect(v3ResponseMessage('1554209980', 'c5ac7061fccab6bf3e254dcf98995b8c', '{"data":[]}').toString()).toBe(
      '1554209980\nc5ac7061fccab6bf3e254dcf98995b8c\n{"data":[]}\n',
    );
    // Bytes that are not valid UTF-8 must reach the signature unchanged.
    const raw = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    expect(v3ResponseMessage('1', 'n', raw)).toEqual(Buffer.concat([Buffer.from('1\nn\n'), raw, Buffer.from('\n')]));
  });
});

describe('v3SignRsa / v3VerifyRsa', () => {
  const message = v3RequestMessage(
    'POST',
    '/v3/pay/transactions/jsapi',
    '1714036504',
    'ibuaiVcKdpRxkhJA',
    '{"appid":"wx1","amount":{"total":100}}',
  );

  it('produces a 2048-bit SHA256withRSA signature an independent verifier accepts', () => {
    const signature = v3SignRsa(message, privatePem);
    expect(Buffer.from(signature, 'base64')).toHaveLength(256);
    expect(referenceVerify(message, signature, merchant.publicKey)).toBe(true);
    // PKCS#1 v1.5 is deterministic, so it must match an independent signer byte for byte.
    expect(signature).toBe(createSign('RSA-SHA256').update(message).sign(merchant.privateKey, 'base64'));
  });

  it('verifies signatures from an independent signer, with PEM or KeyObject keys', () => {
    const signature = createSign('RSA-SHA256').update(message).sign(merchant.privateKey, 'base64');
    expect(v3VerifyRsa(message, signature, publicPem)).toBe(true);
    expect(v3VerifyRsa(message, signature, merchant.publicKey)).toBe(true);
    expect(v3VerifyRsa(Buffer.from(message), signature, merchant.publicKey)).toBe(true);
  });

  it('rejects a flip of any signature byte', () => {
    const signature = v3SignRsa(message, merchant.privateKey);
    for (let i = 0; i < 256; i++) {
      expect(v3VerifyRsa(message, flipBase64Byte(signature, i), merchant.publicKey)).toBe(false);
    }
  });

  it('rejects a flip of any message byte', () => {
    const signature = v3SignRsa(message, merchant.privateKey);
    const bytes = Buffer.from(message);
    for (let i = 0; i < bytes.length; i++) {
      const tampered = Buffer.from(bytes);
      tampered[i] ^= 0x01;
      expect(v3VerifyRsa(tampered, signature, merchant.publicKey)).toBe(false);
    }
  });

  it('rejects another key, malformed base64 and truncated signatures without throwing', () => {
    const signature = v3SignRsa(message, merchant.privateKey);
    expect(v3VerifyRsa(message, signature, other.publicKey)).toBe(false);
    expect(v3VerifyRsa(message, '', merchant.publicKey)).toBe(false);
    expect(v3VerifyRsa(message, 'not base64!', merchant.publicKey)).toBe(false);
    expect(v3VerifyRsa(message, ` ${signature}`, merchant.publicKey)).toBe(false);
    expect(v3VerifyRsa(message, Buffer.from(signature, 'base64').subarray(1).toString('base64'), merchant.publicKey)).toBe(false);
  });

  it('refuses to sign with a non-RSA key (crypto.sign would silently switch to ECDSA)', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => v3SignRsa(message, ec.privateKey)).toThrow(TypeError);
    expect(v3VerifyRsa(message, v3SignRsa(message, merchant.privateKey), ec.publicKey)).toBe(false);
  });
});

describe('buildV3Authorization / parseV3Authorization', () => {
  const base = {
    mchid: '1900009191',
    serialNo: '408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB',
    method: 'POST',
    pathWithQuery: '/v3/pay/transactions/jsapi',
    body: '{"appid":"wx1"}',
    nonce: '593BEC0C930BF1AFEB40B4A08C8FB242',
    timestamp: 1554208460,
  };

  it('builds the documented header, signed over the request message', () => {
    const header = buildV3Authorization({ ...base, privateKey: privatePem });
    const expectedSignature = createSign('RSA-SHA256')
      .update('POST\n/v3/pay/transactions/jsapi\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n{"appid":"wx1"}\n')
      .sign(merchant.privateKey, 'base64');
    expect(header).toBe(
      `WECHATPAY2-SHA256-RSA2048 mchid="1900009191",nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242",signature="${expectedSignature}",timestamp="1554208460",serial_no="408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB"`,
    );
  });

  it('defaults to a fresh 32-character nonce, the current time and an empty body', () => {
    const before = Math.floor(Date.now() / 1000);
    const parsed = parseV3Authorization(
      buildV3Authorization({
        ...base,
        body: undefined,
        nonce: undefined,
        timestamp: undefined,
        privateKey: merchant.privateKey,
        method: 'GET',
      }),
    );
    expect(parsed).not.toBeNull();
    const { nonceStr, timestamp, signature } = parsed!;
    expect(nonceStr).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(Number(timestamp)).toBeGreaterThanOrEqual(before);
    expect(Number(timestamp)).toBeLessThanOrEqual(before + 5);
    expect(referenceVerify(`GET\n${base.pathWithQuery}\n${timestamp}\n${nonceStr}\n\n`, signature, merchant.publicKey)).toBe(true);
  });

  it('round-trips through parseV3Authorization and verifies for the sandbox', () => {
    const parsed = parseV3Authorization(buildV3Authorization({ ...base, privateKey: privatePem }));
    expect(parsed).toMatchObject({ mchid: base.mchid, nonceStr: base.nonce, timestamp: '1554208460', serialNo: base.serialNo });
    const message = v3RequestMessage(base.method, base.pathWithQuery, parsed!.timestamp, parsed!.nonceStr, base.body);
    expect(v3VerifyRsa(message, parsed!.signature, publicPem)).toBe(true);
    expect(v3VerifyRsa(message.replace('wx1', 'wx2'), parsed!.signature, publicPem)).toBe(false);
  });

  it('refuses header values that would break quoting', () => {
    expect(() => buildV3Authorization({ ...base, mchid: '19"00', privateKey: privatePem })).toThrow(TypeError);
    expect(() => buildV3Authorization({ ...base, nonce: 'a\nb', privateKey: privatePem })).toThrow(TypeError);
    expect(() => buildV3Authorization({ ...base, serialNo: '', privateKey: privatePem })).toThrow(TypeError);
  });

  it('parses fields in any order with spaces after commas', () => {
    expect(
      parseV3Authorization('WECHATPAY2-SHA256-RSA2048 serial_no="S", timestamp="1",signature="c2ln", nonce_str="N", mchid="M"'),
    ).toEqual({
      mchid: 'M',
      nonceStr: 'N',
      signature: 'c2ln',
      timestamp: '1',
      serialNo: 'S',
    });
  });

  it.each([
    ['another schema', 'WECHATPAY2-SHA256-RSA4096 mchid="M",nonce_str="N",signature="c2ln",timestamp="1",serial_no="S"'],
    ['no schema', 'mchid="M",nonce_str="N",signature="c2ln",timestamp="1",serial_no="S"'],
    ['a missing field', 'WECHATPAY2-SHA256-RSA2048 mchid="M",nonce_str="N",signature="c2ln",timestamp="1"'],
    ['a duplicated field', 'WECHATPAY2-SHA256-RSA2048 mchid="M",mchid="X",nonce_str="N",signature="c2ln",timestamp="1",serial_no="S"'],
    ['an unknown field', 'WECHATPAY2-SHA256-RSA2048 mchid="M",nonce_str="N",signature="c2ln",timestamp="1",serial_no="S",extra="x"'],
    ['a prototype name', 'WECHATPAY2-SHA256-RSA2048 __proto__="x",mchid="M",nonce_str="N",signature="c2ln",timestamp="1",serial_no="S"'],
    ['an unquoted value', 'WECHATPAY2-SHA256-RSA2048 mchid=M,nonce_str="N",signature="c2ln",timestamp="1",serial_no="S"'],
    ['an empty value', 'WECHATPAY2-SHA256-RSA2048 mchid="",nonce_str="N",signature="c2ln",timestamp="1",serial_no="S"'],
    ['a trailing comma', 'WECHATPAY2-SHA256-RSA2048 mchid="M",nonce_str="N",signature="c2ln",timestamp="1",serial_no="S",'],
    ['garbage between fields', 'WECHATPAY2-SHA256-RSA2048 mchid="M" x,nonce_str="N",signature="c2ln",timestamp="1",serial_no="S"'],
    ['empty', ''],
  ])('returns null for %s', (_name, header) => {
    expect(parseV3Authorization(header)).toBeNull();
  });
});

describe('JSAPI paySign', () => {
  it('signs appId\\ntimeStamp\\nnonceStr\\nprepay_id=…\\n', () => {
    const expectedMessage =
      'wx8888888888888888\n1414561699\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\nprepay_id=wx201410272009395522657a690389285100\n';
    expect(
      jsapiPayMessage(
        'wx8888888888888888',
        '1414561699',
        '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
        'prepay_id=wx201410272009395522657a690389285100',
      ),
    ).toBe(expectedMessage);
    const paySign = jsapiPaySign(
      'wx8888888888888888',
      '1414561699',
      '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
      'prepay_id=wx201410272009395522657a690389285100',
      privatePem,
    );
    expect(referenceVerify(expectedMessage, paySign, merchant.publicKey)).toBe(true);
    expect(referenceVerify(expectedMessage.replace('1414561699', '1414561698'), paySign, merchant.publicKey)).toBe(false);
  });

  it('refuses a bare prepay id (the package must be "prepay_id=…")', () => {
    expect(() => jsapiPaySign('wx1', '1', 'n', 'wx201410272009395522657a690389285100', privatePem)).toThrow(TypeError);
  });

  it('builds the WeixinJSBridge parameters with signType RSA', () => {
    const params = buildJsapiPayParams('wx1', 'wx2014', merchant.privateKey, 'NONCE', '1414561699');
    expect(params).toEqual({
      appId: 'wx1',
      timeStamp: '1414561699',
      nonceStr: 'NONCE',
      package: 'prepay_id=wx2014',
      signType: 'RSA',
      paySign: expect.any(String),
    });
    expect(referenceVerify('wx1\n1414561699\nNONCE\nprepay_id=wx2014\n', params.paySign, merchant.publicKey)).toBe(true);
    const fresh = buildJsapiPayParams('wx1', 'wx2014', merchant.privateKey);
    expect(fresh.nonceStr).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(fresh.timeStamp).toMatch(/^[0-9]{10}$/);
  });
});
