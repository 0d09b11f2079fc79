import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { DETAIL } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { WechatCryptoError, XmlRejectedError } from '../wechat/errors';
import { isFreshTimestamp, safeEqual, sha1Signature } from '../wechat/signature';
import { parseWechatXml } from '../wechat/xml';
import { CallbackCrypto } from './callback-crypto';
import { CallbackRejection } from './callback-rejection';
import { CallbackQuery, PushClaim, PushMessage, PushMode, VerifiedPush } from './push-message';

/** What the internal API accepts as an openid (and what WeChat sends: 28 url-safe chars). */
const OPENID = /^[A-Za-z0-9_-]{1,64}$/;
/** The replay-guard table stores nonces up to 64 chars; WeChat's are short digit strings. */
const NONCE = /^[\x21-\x7e]{1,64}$/;

/**
 * Authenticity and decoding of what arrives on the verify URL (docs/callbacks.md §1–2): signatures,
 * timestamp skew, the message mode, the replay guard, safe-mode decryption, XML parsing. Throws
 * CallbackRejection (403/400/413) and changes nothing: the replay-guard claim it computes is made
 * by the handler, in the one internal call that applies the push.
 */
@Injectable()
export class PushVerifier {
  constructor(
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly crypto: CallbackCrypto,
  ) {}

  /** Server URL verification: the echostr to answer (decrypted in safe mode). */
  verifyEcho(query: CallbackQuery): string {
    const { timestamp, nonce, echostr } = this.checkCommon(query);
    if (echostr === undefined || echostr === '') throw CallbackRejection.forbidden('echostr missing');
    if (query.msg_signature !== undefined) {
      const crypto = this.requireCrypto();
      try {
        return crypto.verifyAndDecrypt(query.msg_signature, timestamp, nonce, echostr);
      } catch (err) {
        throw CallbackRejection.forbidden(`echostr: ${cryptoReason(err)}`);
      }
    }
    this.checkServerSignature(query, timestamp, nonce);
    return echostr;
  }

  /**
   * A message/event push: verified, replay-checked and decoded. Everything that costs nothing runs
   * before the body is read: the mode, the timestamp and the query `signature` (WeChat sends it in
   * every mode); the body is parsed only then, under the size and field caps (docs/limits.md).
   */
  async verifyPush(query: CallbackQuery, body: Buffer): Promise<VerifiedPush> {
    const { timestamp, nonce } = this.checkCommon(query);
    const encrypted = query.encrypt_type?.toLowerCase() === 'aes';
    const accountMode = this.config.inbound.messageMode;
    // In compatible and safe mode WeChat encrypts every push: a plaintext one is a downgrade.
    if (!encrypted && accountMode !== 'plaintext') throw CallbackRejection.forbidden(`plaintext push refused in ${accountMode} mode`);
    this.checkServerSignature(query, timestamp, nonce);

    if (!encrypted) {
      const fields = await this.parseBody(body, 'body');
      // An Encrypt element means WeChat sent this in compatible/safe mode with encrypt_type=aes;
      // without it, someone stripped the parameter to have the unauthenticated clear copy used.
      if (fields.Encrypt !== undefined) throw CallbackRejection.forbidden('Encrypt element without encrypt_type=aes (downgrade)');
      return { message: toMessage(fields, 'plaintext'), claim: claimOf(timestamp, nonce, body) };
    }

    const crypto = this.requireCrypto();
    const msgSignature = query.msg_signature;
    if (!msgSignature) throw CallbackRejection.forbidden('msg_signature missing');
    // msg_signature covers the Encrypt element, so the envelope has to be parsed to check it.
    const outer = await this.parseBody(body, 'body');
    const encrypt = outer.Encrypt;
    if (!encrypt) throw CallbackRejection.forbidden('encrypt_type=aes without an Encrypt element');
    let inner: string;
    try {
      inner = crypto.verifyAndDecrypt(msgSignature, timestamp, nonce, encrypt);
    } catch (err) {
      throw CallbackRejection.forbidden(cryptoReason(err));
    }
    // Compatible mode repeats the fields in clear, unauthenticated: only the decrypted ones count.
    const mode: PushMode = outer.FromUserName !== undefined || outer.MsgType !== undefined ? 'compatible' : 'safe';
    // Encrypted pushes claim their pair too: the same query can then never carry a plaintext body.
    return { message: toMessage(await this.parseBody(inner, 'Encrypt'), mode), claim: claimOf(timestamp, nonce, body) };
  }

  /** timestamp + nonce present, well-formed and fresh; the token configured. */
  private checkCommon(query: CallbackQuery): { timestamp: string; nonce: string; echostr?: string } {
    if (!this.config.wechat.token) throw CallbackRejection.forbidden('WECHAT_TOKEN is not configured');
    const { timestamp, nonce } = query;
    if (!timestamp || !nonce) throw CallbackRejection.forbidden('timestamp or nonce missing');
    if (!NONCE.test(nonce)) throw CallbackRejection.forbidden('nonce malformed');
    if (!isFreshTimestamp(timestamp, this.clock.nowSeconds(), this.config.wechat.callbackMaxSkewSeconds)) {
      throw CallbackRejection.forbidden('timestamp malformed or outside the accepted skew');
    }
    return { timestamp, nonce, echostr: query.echostr };
  }

  private checkServerSignature(query: CallbackQuery, timestamp: string, nonce: string): void {
    if (!query.signature) throw CallbackRejection.forbidden('signature missing');
    if (!safeEqual(sha1Signature(this.config.wechat.token, timestamp, nonce), query.signature)) {
      throw CallbackRejection.forbidden('signature mismatch');
    }
  }

  private requireCrypto() {
    const crypto = this.crypto.messageCrypto;
    if (!crypto) throw CallbackRejection.forbidden('encrypted request but WECHAT_ENCODING_AES_KEY is not configured');
    return crypto;
  }

  private async parseBody(body: Buffer | string, what: 'body' | 'Encrypt'): Promise<Record<string, string>> {
    const size = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    if (size === 0) throw CallbackRejection.badRequest(`${what}: empty`);
    const { callbackBodyLimitBytes, callbackMaxXmlFields } = this.config.inbound;
    try {
      return await parseWechatXml(body, callbackBodyLimitBytes, { maxFields: callbackMaxXmlFields });
    } catch (err) {
      if (err instanceof XmlRejectedError) {
        if (err.reason === 'too_large') throw new CallbackRejection(413, DETAIL.tooLarge, `${what}: too large`);
        const detail =
          err.reason === 'doctype'
            ? `${what}: DOCTYPE/ENTITY not allowed`
            : err.reason === 'too_many_fields'
              ? `${what}: more than ${callbackMaxXmlFields} XML elements`
              : `${what}: not well-formed XML`;
        throw CallbackRejection.badRequest(detail, `${detail} (${err.reason})`);
      }
      throw err;
    }
  }
}

/**
 * The replay-guard claim of an accepted push: its (timestamp, nonce) pair with the hash of the body
 * it came with, made by the internal API in the transaction that applies the push (the handler).
 * The same pair with the same body is a WeChat retry; with another body, a replay (403).
 */
function claimOf(timestamp: string, nonce: string, body: Buffer): PushClaim {
  return { timestamp, nonce, body_sha256: createHash('sha256').update(body).digest('hex') };
}

function toMessage(fields: Record<string, string>, mode: PushMode): PushMessage {
  const openid = fields.FromUserName;
  if (!openid) throw CallbackRejection.badRequest('FromUserName: required');
  if (!OPENID.test(openid)) throw CallbackRejection.badRequest('FromUserName: invalid');
  if (!fields.MsgType) throw CallbackRejection.badRequest('MsgType: required');
  const createTime = /^[0-9]{1,12}$/.test(fields.CreateTime ?? '') ? Number(fields.CreateTime) : undefined;
  return {
    mode,
    openid,
    toUserName: fields.ToUserName ?? '',
    msgType: fields.MsgType,
    event: fields.Event ?? '',
    eventKey: fields.EventKey ?? '',
    createTime,
  };
}

function cryptoReason(err: unknown): string {
  if (err instanceof WechatCryptoError) return err.code === 'bad_signature' ? 'msg_signature mismatch' : `decryption refused (${err.code})`;
  return 'decryption failed';
}
