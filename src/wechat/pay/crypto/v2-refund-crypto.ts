import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import { decodeBase64Strict, decodeUtf8Strict } from '../../encoding';
import { WechatPayCryptoError } from '../../errors';
import { parseWechatXml } from '../../xml';

/**
 * v2 refund notifications carry `req_info` = base64(AES-256-ECB(xml)) with key = lowercase hex MD5
 * of the v2 API key — the 32 hex characters themselves are the 32 key bytes. ECB has no IV and no
 * MAC: the padding check catches a wrong key or an altered last block, not every altered byte, so
 * the decrypted document must still parse and be checked against our own order before use.
 */
function refundKey(apiKey: string): Buffer {
  if (!apiKey) throw new WechatPayCryptoError('invalid_key', 'v2 API key is empty');
  return Buffer.from(createHash('md5').update(apiKey, 'utf8').digest('hex'), 'ascii');
}

/** Decrypted `req_info` XML (root element `<root>`). */
export function decryptV2RefundReqInfo(reqInfoB64: string, apiKey: string): string {
  const key = refundKey(apiKey);
  const data = decodeBase64Strict(reqInfoB64);
  if (!data || data.length % 16 !== 0) throw new WechatPayCryptoError('invalid_input', 'req_info is not base64 of whole AES blocks');
  const decipher = createDecipheriv('aes-256-ecb', key, null); // OpenSSL checks PKCS#7 (all pad bytes)
  let plain: Buffer;
  try {
    plain = Buffer.concat([decipher.update(data), decipher.final()]);
  } catch {
    throw new WechatPayCryptoError('decrypt_failed', 'req_info padding invalid (wrong key or tampered)');
  }
  const text = decodeUtf8Strict(plain);
  if (text === null) throw new WechatPayCryptoError('bad_utf8', 'req_info is not valid UTF-8');
  return text;
}

/** Decrypts and parses `req_info` into its flat fields (out_refund_no, refund_status, …). */
export async function parseV2RefundReqInfo(reqInfoB64: string, apiKey: string): Promise<Record<string, string>> {
  return parseWechatXml(decryptV2RefundReqInfo(reqInfoB64, apiKey), 65536, { rootName: 'root' });
}

/** The inverse, for the sandbox. */
export function encryptV2RefundReqInfo(xml: string, apiKey: string): string {
  const cipher = createCipheriv('aes-256-ecb', refundKey(apiKey), null);
  return Buffer.concat([cipher.update(xml, 'utf8'), cipher.final()]).toString('base64');
}
