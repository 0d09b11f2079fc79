/**
 * Typed errors of the protocol layer. Callers map them to WeChat's answer formats (403, FAIL, 401…)
 * by `code`, so codes are stable strings and messages never contain key material.
 */
export abstract class WechatError<C extends string = string> extends Error {
  protected constructor(
    readonly code: C,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export type WechatCryptoErrorCode =
  | 'invalid_config' // EncodingAESKey / token / appId unusable
  | 'invalid_input' // caller passed something we refuse to encrypt or wrap
  | 'bad_signature' // msg_signature does not match
  | 'bad_base64'
  | 'bad_block_length'
  | 'bad_padding'
  | 'bad_length' // the uint32 length field points outside the plaintext
  | 'bad_utf8'
  | 'appid_mismatch';

/** Official Account safe-mode message crypto failures. */
export class WechatCryptoError extends WechatError<WechatCryptoErrorCode> {
  constructor(code: WechatCryptoErrorCode, message: string) {
    super(code, message);
  }
}

export type XmlRejectionReason = 'too_large' | 'too_many_fields' | 'doctype' | 'not_xml' | 'malformed';

/** A request body we refuse to treat as a WeChat XML document. */
export class XmlRejectedError extends WechatError<XmlRejectionReason> {
  constructor(code: XmlRejectionReason, message: string) {
    super(code, message);
  }

  /** Alias of `code`; reads better at call sites that log the rejection reason. */
  get reason(): XmlRejectionReason {
    return this.code;
  }
}

export type WechatPayCryptoErrorCode =
  | 'invalid_key'
  | 'invalid_input'
  | 'auth_failed' // AES-GCM tag mismatch: tampered, wrong key, nonce or associated data
  | 'decrypt_failed' // AES-ECB padding invalid (wrong key or tampered)
  | 'bad_utf8';

/** WeChat Pay payload crypto failures (APIv3 AES-GCM resources, v2 refund `req_info`). */
export class WechatPayCryptoError extends WechatError<WechatPayCryptoErrorCode> {
  constructor(code: WechatPayCryptoErrorCode, message: string) {
    super(code, message);
  }
}
