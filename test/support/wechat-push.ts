import { WechatMessageCrypto } from '../../src/wechat/message-crypto';
import { randomNonce } from '../../src/wechat/nonce';
import { sha1Signature } from '../../src/wechat/signature';
import { buildXml, parseWechatXml } from '../../src/wechat/xml';

/**
 * Builds what WeChat sends to the server URL — signed plaintext, compatible and safe-mode pushes,
 * and server-URL verifications — with the product's own pure protocol code (src/wechat), so that
 * tests exercise the controllers, not a second crypto implementation.
 */

export const VERIFY_PATH = '/api/v1/auth/wechat/verify';

export type PushMode = 'plaintext' | 'compatible' | 'safe';
export const PUSH_MODES: PushMode[] = ['plaintext', 'compatible', 'safe'];

/** The account's credentials as configured in the app (WECHAT_TOKEN, _APPID, _ENCODING_AES_KEY). */
export interface WechatKeys {
  token: string;
  appId: string;
  encodingAesKey: string;
}

/** Test credentials: the token is letters/digits, the key 43 letters/digits (what the env schema accepts). */
export const TEST_KEYS: WechatKeys = {
  token: 'pushtoken2024',
  appId: 'wx0123456789abcdef',
  encodingAesKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
};

/** The env that makes the app use `keys`. */
export function wechatEnv(keys: WechatKeys = TEST_KEYS): Record<string, string> {
  return { WECHAT_TOKEN: keys.token, WECHAT_APPID: keys.appId, WECHAT_ENCODING_AES_KEY: keys.encodingAesKey };
}

export const ACCOUNT_ID = 'gh_0123456789ab';

/** An event push body: `<xml>` with ToUserName, FromUserName, CreateTime, MsgType=event, Event, EventKey. */
export function eventXml(openid: string, event: string, eventKey?: string, extra: Record<string, string | number> = {}): string {
  const fields: Record<string, string | number> = {
    ToUserName: ACCOUNT_ID,
    FromUserName: openid,
    CreateTime: Math.floor(Date.now() / 1000),
    MsgType: 'event',
    Event: event,
  };
  if (eventKey !== undefined) fields.EventKey = eventKey;
  return buildXml({ ...fields, ...extra });
}

export interface PushOptions {
  timestamp?: number | string;
  nonce?: string;
  /** Encrypt for another appid (correctly signed all the same): the app must refuse it. */
  encryptAppId?: string;
}

export interface SignedPush {
  /** The query WeChat would send; edit it to forge or drop a parameter. */
  query: URLSearchParams;
  body: string;
  /** Path + query, to append to the app's base URL. */
  path(): string;
}

function cryptoFor(keys: WechatKeys, appId = keys.appId): WechatMessageCrypto {
  return new WechatMessageCrypto({ token: keys.token, encodingAesKey: keys.encodingAesKey, appId });
}

/** A push of `xml` as WeChat sends it in `mode` (safe: `<xml><ToUserName/><Encrypt/></xml>` only). */
export function signedPush(keys: WechatKeys, mode: PushMode, xml: string, opts: PushOptions = {}): SignedPush {
  const timestamp = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  const nonce = opts.nonce ?? randomNonce(10);
  const query = new URLSearchParams({ signature: sha1Signature(keys.token, timestamp, nonce), timestamp, nonce });
  let body = xml;
  if (mode !== 'plaintext') {
    const encrypt = cryptoFor(keys, opts.encryptAppId).encrypt(xml);
    query.set('encrypt_type', 'aes');
    query.set('msg_signature', sha1Signature(keys.token, timestamp, nonce, encrypt));
    if (mode === 'safe') {
      body = buildXml({ ToUserName: ACCOUNT_ID, Encrypt: encrypt });
    } else {
      // Compatible: the clear fields, then the Encrypt element, in one document.
      body = xml.replace(/<\/xml>\s*$/, `<Encrypt><![CDATA[${encrypt}]]></Encrypt></xml>`);
    }
  }
  return { query, body, path: () => `${VERIFY_PATH}?${query.toString()}` };
}

/** The query of a server URL verification; safe mode encrypts the echostr and adds msg_signature. */
export function verifyQuery(
  keys: WechatKeys,
  echostr: string,
  opts: { safe?: boolean; timestamp?: number | string; nonce?: string } = {},
): URLSearchParams {
  const timestamp = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  const nonce = opts.nonce ?? randomNonce(10);
  const query = new URLSearchParams({ signature: sha1Signature(keys.token, timestamp, nonce), timestamp, nonce, echostr });
  if (opts.safe) {
    const encrypted = cryptoFor(keys).encrypt(echostr);
    query.set('echostr', encrypted);
    query.set('msg_signature', sha1Signature(keys.token, timestamp, nonce, encrypted));
  }
  return query;
}

export interface OpenedReply {
  encrypted: boolean;
  /** The reply's fields (decrypted when it was encrypted). */
  fields: Record<string, string>;
}

/** Reads a passive XML reply as WeChat would: an encrypted one must carry a valid MsgSignature. */
export async function openReply(keys: WechatKeys, body: string): Promise<OpenedReply> {
  const outer = await parseWechatXml(body);
  if (outer.Encrypt === undefined) return { encrypted: false, fields: outer };
  const inner = cryptoFor(keys).verifyAndDecrypt(outer.MsgSignature ?? '', outer.TimeStamp ?? '', outer.Nonce ?? '', outer.Encrypt);
  return { encrypted: true, fields: await parseWechatXml(inner) };
}
