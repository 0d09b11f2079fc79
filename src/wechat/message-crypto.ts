import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { decodeBase64Strict, decodeUtf8Strict } from './encoding';
import { WechatCryptoError } from './errors';
import { safeEqual, sha1Signature } from './signature';
import { cdata } from './xml';

export interface WechatMessageCryptoOptions {
  token: string;
  /** The 43-character EncodingAESKey from the Official Account console. */
  encodingAesKey: string;
  appId: string;
}

// WeChat pads to 32-byte blocks (not AES's 16), so OpenSSL's automatic PKCS#7 cannot be used.
const PAD_BLOCK = 32;
const RANDOM_LEN = 16;
const LENGTH_LEN = 4;

/**
 * Safe-mode ("安全模式") message crypto of the Official Account: AES-256-CBC, key =
 * base64(EncodingAESKey + '='), IV = key[0..16), plaintext = random16 ‖ uint32be(len) ‖ msg ‖ appId.
 *
 * CBC without a MAC is malleable: `decrypt` rejects what it can detect (padding, length, appId,
 * UTF-8) but cannot notice every altered byte. Integrity comes from `msg_signature`, so callers
 * should use `verifyAndDecrypt`, or check `verifyMsgSignature` before `decrypt`.
 */
export class WechatMessageCrypto {
  private readonly token: string;
  private readonly appId: string;
  private readonly key: Buffer;
  private readonly iv: Buffer;

  constructor(options: WechatMessageCryptoOptions) {
    const { token, encodingAesKey, appId } = options;
    if (!token) throw new WechatCryptoError('invalid_config', 'token is empty');
    if (!appId) throw new WechatCryptoError('invalid_config', 'appId is empty');
    // Checked before decoding: Node's base64 decoder silently skips invalid characters.
    const key = /^[A-Za-z0-9+/]{43}$/.test(encodingAesKey) ? Buffer.from(`${encodingAesKey}=`, 'base64') : null;
    if (!key || key.length !== 32) {
      throw new WechatCryptoError('invalid_config', 'EncodingAESKey must be 43 base64 characters (32 bytes)');
    }
    this.token = token;
    this.appId = appId;
    this.key = key;
    this.iv = key.subarray(0, 16);
  }

  /** Base64 `Encrypt` value for `xml`. `random16` exists for the published test vectors only. */
  encrypt(xml: string, random16: Buffer = randomBytes(RANDOM_LEN)): string {
    if (random16.length !== RANDOM_LEN) throw new WechatCryptoError('invalid_input', 'random prefix must be 16 bytes');
    const msg = Buffer.from(xml, 'utf8');
    const length = Buffer.alloc(LENGTH_LEN);
    length.writeUInt32BE(msg.length, 0);
    const plain = Buffer.concat([random16, length, msg, Buffer.from(this.appId, 'utf8')]);
    const pad = PAD_BLOCK - (plain.length % PAD_BLOCK); // 1..32: a full block when already aligned
    const cipher = createCipheriv('aes-256-cbc', this.key, this.iv).setAutoPadding(false);
    return Buffer.concat([cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])), cipher.final()]).toString('base64');
  }

  /** Decrypts an `Encrypt` value (or safe-mode `echostr`); throws WechatCryptoError on anything off. */
  decrypt(encrypt: string): string {
    const data = decodeBase64Strict(encrypt);
    if (!data) throw new WechatCryptoError('bad_base64', 'Encrypt is not valid base64');
    if (data.length === 0 || data.length % 16 !== 0) {
      throw new WechatCryptoError('bad_block_length', 'ciphertext is not a whole number of AES blocks');
    }
    const decipher = createDecipheriv('aes-256-cbc', this.key, this.iv).setAutoPadding(false);
    const plain = Buffer.concat([decipher.update(data), decipher.final()]);

    const pad = plain[plain.length - 1];
    if (pad < 1 || pad > PAD_BLOCK || pad > plain.length || !plain.subarray(plain.length - pad).every((b) => b === pad)) {
      throw new WechatCryptoError('bad_padding', 'invalid PKCS#7 padding');
    }
    const content = plain.subarray(0, plain.length - pad);
    if (content.length < RANDOM_LEN + LENGTH_LEN) throw new WechatCryptoError('bad_length', 'plaintext too short');

    const msgLength = content.readUInt32BE(RANDOM_LEN);
    const msgEnd = RANDOM_LEN + LENGTH_LEN + msgLength;
    if (msgEnd > content.length) throw new WechatCryptoError('bad_length', 'length field exceeds plaintext');

    // appId is public, so a plain comparison leaks nothing.
    if (!content.subarray(msgEnd).equals(Buffer.from(this.appId, 'utf8'))) {
      throw new WechatCryptoError('appid_mismatch', 'message was not encrypted for this appId');
    }
    const msg = decodeUtf8Strict(content.subarray(RANDOM_LEN + LENGTH_LEN, msgEnd));
    if (msg === null) throw new WechatCryptoError('bad_utf8', 'message is not valid UTF-8');
    return msg;
  }

  /** `sha1(sorted([token, timestamp, nonce, encrypt]).join(''))`. */
  msgSignature(timestamp: string, nonce: string, encrypt: string): string {
    return sha1Signature(this.token, timestamp, nonce, encrypt);
  }

  /** Constant-time check of a received `msg_signature`. Timestamp freshness is the caller's job. */
  verifyMsgSignature(msgSignature: string, timestamp: string, nonce: string, encrypt: string): boolean {
    return safeEqual(this.msgSignature(timestamp, nonce, encrypt), msgSignature);
  }

  /** Signature first, then decryption: the only order that detects every tampered byte. */
  verifyAndDecrypt(msgSignature: string, timestamp: string, nonce: string, encrypt: string): string {
    if (!this.verifyMsgSignature(msgSignature, timestamp, nonce, encrypt)) {
      throw new WechatCryptoError('bad_signature', 'msg_signature mismatch');
    }
    return this.decrypt(encrypt);
  }

  /** Encrypted passive reply envelope, as WeChat expects it in safe mode. */
  buildEncryptedReply(replyXml: string, timestamp: string, nonce: string): string {
    // TimeStamp is written bare, so it must be digits; anything else would inject markup.
    if (!/^[0-9]{1,15}$/.test(timestamp)) throw new WechatCryptoError('invalid_input', 'timestamp must be decimal digits');
    if (!nonce) throw new WechatCryptoError('invalid_input', 'nonce is empty');
    const encrypt = this.encrypt(replyXml);
    const signature = this.msgSignature(timestamp, nonce, encrypt);
    return (
      `<xml><Encrypt>${cdata(encrypt)}</Encrypt><MsgSignature>${cdata(signature)}</MsgSignature>` +
      `<TimeStamp>${timestamp}</TimeStamp><Nonce>${cdata(nonce)}</Nonce></xml>`
    );
  }
}
