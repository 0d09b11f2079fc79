import { createCipheriv, createHash } from 'node:crypto';
import { WechatPayCryptoError } from '../../errors';
import { decryptV2RefundReqInfo, encryptV2RefundReqInfo, parseV2RefundReqInfo } from './v2-refund-crypto';

const API_KEY = '192006250b4c09247ec02edce69f6a2d';
const REQ_INFO_XML =
  '<root><out_refund_no><![CDATA[R20240425000001]]></out_refund_no><out_trade_no><![CDATA[O20240425000001]]></out_trade_no>' +
  '<refund_fee><![CDATA[100]]></refund_fee><refund_status><![CDATA[SUCCESS]]></refund_status><total_fee><![CDATA[100]]></total_fee></root>';

function payError(fn: () => unknown): WechatPayCryptoError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(WechatPayCryptoError);
    return error as WechatPayCryptoError;
  }
  throw new Error('expected a WechatPayCryptoError');
}

/** Independent implementation of docs/ops.md's rule: AES-256-ECB, key = lowercase hex MD5 of the API key, PKCS#7. */
function referenceEncrypt(xml: string, apiKey: string): string {
  const key = Buffer.from(createHash('md5').update(apiKey).digest('hex').toLowerCase(), 'ascii');
  const cipher = createCipheriv('aes-256-ecb', key, null);
  return Buffer.concat([cipher.update(xml, 'utf8'), cipher.final()]).toString('base64');
}

describe('v2 refund req_info', () => {
  it('decrypts what the documented scheme produces (key = 32 ASCII bytes of the lowercase hex MD5)', () => {
    expect(decryptV2RefundReqInfo(referenceEncrypt(REQ_INFO_XML, API_KEY), API_KEY)).toBe(REQ_INFO_XML);
  });

  it('encrypts exactly like the documented scheme (ECB is deterministic)', () => {
    expect(encryptV2RefundReqInfo(REQ_INFO_XML, API_KEY)).toBe(referenceEncrypt(REQ_INFO_XML, API_KEY));
  });

  it.each(['', 'x', '0123456789abcde', '0123456789abcdef', '中文退款'.repeat(20)])('round-trips %j', (xml) => {
    expect(decryptV2RefundReqInfo(encryptV2RefundReqInfo(xml, API_KEY), API_KEY)).toBe(xml);
  });

  it('parses the decrypted <root> document into flat fields', async () => {
    await expect(parseV2RefundReqInfo(encryptV2RefundReqInfo(REQ_INFO_XML, API_KEY), API_KEY)).resolves.toEqual({
      out_refund_no: 'R20240425000001',
      out_trade_no: 'O20240425000001',
      refund_fee: '100',
      refund_status: 'SUCCESS',
      total_fee: '100',
    });
  });

  it('rejects data encrypted under another API key', () => {
    const foreign = encryptV2RefundReqInfo(REQ_INFO_XML, 'another-api-key-0000000000000000');
    expect(() => decryptV2RefundReqInfo(foreign, API_KEY)).toThrow(WechatPayCryptoError);
  });

  it('rejects a flip of any byte in the last two blocks (padding check); earlier blocks are caught by XML parsing', async () => {
    const bytes = Buffer.from(encryptV2RefundReqInfo(REQ_INFO_XML, API_KEY), 'base64');
    // ECB: flipping a byte garbles only its own 16-byte block. In the last block that breaks the
    // padding; elsewhere it garbles markup or text, which the strict parse or our order checks catch.
    for (let i = bytes.length - 16; i < bytes.length; i++) {
      const tampered = Buffer.from(bytes);
      tampered[i] ^= 0x01;
      expect(() => decryptV2RefundReqInfo(tampered.toString('base64'), API_KEY)).toThrow(WechatPayCryptoError);
    }
    for (let i = 0; i < bytes.length - 16; i += 16) {
      const tampered = Buffer.from(bytes);
      tampered[i] ^= 0x01;
      await expect(parseV2RefundReqInfo(tampered.toString('base64'), API_KEY)).rejects.toThrow();
    }
  });

  it.each([
    ['not base64', 'not base64!'],
    ['not whole blocks', Buffer.alloc(20).toString('base64')],
    ['empty', ''],
  ])('rejects %s input', (_name, input) => {
    expect(payError(() => decryptV2RefundReqInfo(input, API_KEY)).code).toBe('invalid_input');
  });

  it('refuses an empty API key', () => {
    expect(payError(() => decryptV2RefundReqInfo('AAAA', '')).code).toBe('invalid_key');
  });
});
