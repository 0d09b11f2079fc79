import { createCipheriv, createDecipheriv } from 'node:crypto';
import { decodeBase64Strict, decodeUtf8Strict } from '../../encoding';
import { WechatPayCryptoError } from '../../errors';

const TAG_LENGTH = 16;

export interface AesGcmParams {
  /** The APIv3 key: 32 bytes (WeChat's is a 32-character ASCII string). */
  key: string | Buffer;
  /** `resource.nonce` (12 characters in practice), used as the GCM IV as-is. */
  nonce: string;
  /** `resource.associated_data`; may be empty. */
  associatedData?: string;
}

export interface AesGcmDecryptParams extends AesGcmParams {
  /** base64 of data ‖ 16-byte tag. */
  ciphertext: string;
}

export interface AesGcmEncryptParams extends AesGcmParams {
  plaintext: string;
}

function keyBytes(key: string | Buffer): Buffer {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  if (bytes.length !== 32) throw new WechatPayCryptoError('invalid_key', 'APIv3 key must be 32 bytes');
  return bytes;
}

function ivBytes(nonce: string): Buffer {
  if (!nonce) throw new WechatPayCryptoError('invalid_input', 'nonce is empty');
  return Buffer.from(nonce, 'utf8');
}

/** Decrypts an APIv3 `resource` (AEAD_AES_256_GCM). Any altered byte, key, nonce or AAD → 'auth_failed'. */
export function aesGcmDecrypt(params: AesGcmDecryptParams): string {
  const key = keyBytes(params.key);
  const iv = ivBytes(params.nonce);
  const data = decodeBase64Strict(params.ciphertext);
  if (!data || data.length < TAG_LENGTH) throw new WechatPayCryptoError('invalid_input', 'ciphertext is not base64 of data ‖ tag');
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LENGTH });
  decipher.setAuthTag(data.subarray(data.length - TAG_LENGTH));
  decipher.setAAD(Buffer.from(params.associatedData ?? '', 'utf8'));
  let plain: Buffer;
  try {
    plain = Buffer.concat([decipher.update(data.subarray(0, data.length - TAG_LENGTH)), decipher.final()]);
  } catch {
    throw new WechatPayCryptoError('auth_failed', 'AES-GCM authentication failed');
  }
  const text = decodeUtf8Strict(plain);
  if (text === null) throw new WechatPayCryptoError('bad_utf8', 'decrypted resource is not valid UTF-8');
  return text;
}

/** The inverse, for the sandbox: base64(data ‖ tag). */
export function aesGcmEncrypt(params: AesGcmEncryptParams): string {
  const cipher = createCipheriv('aes-256-gcm', keyBytes(params.key), ivBytes(params.nonce), { authTagLength: TAG_LENGTH });
  cipher.setAAD(Buffer.from(params.associatedData ?? '', 'utf8'));
  const data = Buffer.concat([cipher.update(params.plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([data, cipher.getAuthTag()]).toString('base64');
}
