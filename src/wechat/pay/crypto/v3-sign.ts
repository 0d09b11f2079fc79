import { createPrivateKey, createPublicKey, KeyObject, sign, verify } from 'node:crypto';
import { decodeBase64Strict } from '../../encoding';
import { randomNonce } from '../../nonce';

/** PEM text or an already-loaded key. */
export type PrivateKeyInput = string | KeyObject;
export type PublicKeyInput = string | KeyObject;

export const V3_AUTH_SCHEMA = 'WECHATPAY2-SHA256-RSA2048';

/** `METHOD\nPATH_WITH_QUERY\nTIMESTAMP\nNONCE\nBODY\n` — what a merchant signs for an APIv3 request (body '' for GET). */
export function v3RequestMessage(method: string, pathWithQuery: string, timestamp: string | number, nonce: string, body: string): string {
  return `${method.toUpperCase()}\n${pathWithQuery}\n${timestamp}\n${nonce}\n${body}\n`;
}

/**
 * `TIMESTAMP\nNONCE\nBODY\n` — what WeChat signs for responses and notifications. A Buffer, because
 * the signature covers the raw body bytes; decoding them as text first could alter them.
 */
export function v3ResponseMessage(timestamp: string, nonce: string, body: string | Buffer): Buffer {
  const raw = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return Buffer.concat([Buffer.from(`${timestamp}\n${nonce}\n`, 'utf8'), raw, Buffer.from('\n')]);
}

/** Loads a key and insists on RSA: crypto.sign would happily do ECDSA/Ed25519 with the wrong key. */
export function rsaPrivateKey(key: PrivateKeyInput): KeyObject {
  const object = typeof key === 'string' ? createPrivateKey(key) : key;
  if (object.type !== 'private' || object.asymmetricKeyType !== 'rsa') throw new TypeError('an RSA private key is required');
  return object;
}

export function rsaPublicKey(key: PublicKeyInput): KeyObject {
  const object = typeof key === 'string' ? createPublicKey(key) : key;
  if (object.asymmetricKeyType !== 'rsa') throw new TypeError('an RSA public key is required');
  // A private KeyObject also verifies; normalise so callers cannot keep the private half around by accident.
  return object.type === 'public' ? object : createPublicKey(object);
}

/** SHA256withRSA (PKCS#1 v1.5), base64. */
export function v3SignRsa(message: string | Buffer, privateKey: PrivateKeyInput): string {
  const data = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
  return sign('sha256', data, rsaPrivateKey(privateKey)).toString('base64');
}

/** False on any mismatch or malformed signature; never throws for attacker-controlled input. */
export function v3VerifyRsa(message: string | Buffer, signatureB64: string, publicKey: PublicKeyInput): boolean {
  const signature = decodeBase64Strict(signatureB64);
  if (!signature) return false;
  const data = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
  try {
    return verify('sha256', data, rsaPublicKey(publicKey), signature);
  } catch {
    return false;
  }
}

export interface V3AuthorizationParams {
  mchid: string;
  /** Serial number of the merchant API certificate. */
  serialNo: string;
  privateKey: PrivateKeyInput;
  method: string;
  pathWithQuery: string;
  body?: string;
  nonce?: string;
  timestamp?: string | number;
}

export interface V3AuthorizationParts {
  mchid: string;
  nonceStr: string;
  signature: string;
  timestamp: string;
  serialNo: string;
}

/** The `Authorization` header value of an APIv3 request. */
export function buildV3Authorization(params: V3AuthorizationParams): string {
  const nonce = params.nonce ?? randomNonce(32);
  const timestamp = String(params.timestamp ?? Math.floor(Date.now() / 1000));
  const message = v3RequestMessage(params.method, params.pathWithQuery, timestamp, nonce, params.body ?? '');
  const signature = v3SignRsa(message, params.privateKey);
  const fields: Array<[string, string]> = [
    ['mchid', params.mchid],
    ['nonce_str', nonce],
    ['signature', signature],
    ['timestamp', timestamp],
    ['serial_no', params.serialNo],
  ];
  for (const [name, value] of fields) {
    // A quote or newline would break the header's quoting (or the signed message's framing).
    if (!value || /["\r\n]/.test(value)) throw new TypeError(`invalid ${name} for Authorization header`);
  }
  return `${V3_AUTH_SCHEMA} ${fields.map(([name, value]) => `${name}="${value}"`).join(',')}`;
}

const AUTH_KEYS: Record<string, keyof V3AuthorizationParts> = {
  mchid: 'mchid',
  nonce_str: 'nonceStr',
  signature: 'signature',
  timestamp: 'timestamp',
  serial_no: 'serialNo',
};

/**
 * Parses an APIv3 `Authorization` header (the sandbox uses it to verify merchants). Strict: the
 * exact schema, each of the five fields exactly once, quoted, in any order; otherwise null.
 */
export function parseV3Authorization(header: string): V3AuthorizationParts | null {
  const prefix = `${V3_AUTH_SCHEMA} `;
  if (!header.startsWith(prefix)) return null;
  const parts: Partial<V3AuthorizationParts> = {};
  const pair = /\s*([a-z_]+)="([^"]*)"\s*(,|$)/y;
  let rest = header.slice(prefix.length);
  while (rest.length > 0) {
    pair.lastIndex = 0;
    const match = pair.exec(rest);
    if (!match) return null;
    if (!Object.hasOwn(AUTH_KEYS, match[1]) || match[2] === '') return null;
    const field = AUTH_KEYS[match[1]];
    if (parts[field] !== undefined) return null; // duplicated field
    parts[field] = match[2];
    rest = rest.slice(match[0].length);
    if (match[3] === ',' && rest.length === 0) return null; // trailing comma
  }
  const { mchid, nonceStr, signature, timestamp, serialNo } = parts;
  if (!mchid || !nonceStr || !signature || !timestamp || !serialNo) return null;
  return { mchid, nonceStr, signature, timestamp, serialNo };
}

/** `appId\ntimeStamp\nnonceStr\nprepay_id=…\n` — the message of a JSAPI `paySign`. */
export function jsapiPayMessage(appId: string, timeStamp: string, nonceStr: string, pkg: string): string {
  // The package is the full `prepay_id=…` string the front end passes to WeixinJSBridge; a bare
  // prepay id here would produce a signature WeChat rejects, so refuse it early.
  if (!pkg.startsWith('prepay_id=')) throw new TypeError('package must be "prepay_id=<id>"');
  return `${appId}\n${timeStamp}\n${nonceStr}\n${pkg}\n`;
}

/** JSAPI `paySign` (signType "RSA"). */
export function jsapiPaySign(appId: string, timeStamp: string, nonceStr: string, pkg: string, privateKey: PrivateKeyInput): string {
  return v3SignRsa(jsapiPayMessage(appId, timeStamp, nonceStr, pkg), privateKey);
}

export interface JsapiPayParams {
  appId: string;
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: 'RSA';
  paySign: string;
}

/** The object a page hands to `WeixinJSBridge.invoke('getBrandWCPayRequest', …)`. */
export function buildJsapiPayParams(
  appId: string,
  prepayId: string,
  privateKey: PrivateKeyInput,
  nonceStr: string = randomNonce(32),
  timeStamp: string = String(Math.floor(Date.now() / 1000)),
): JsapiPayParams {
  const pkg = `prepay_id=${prepayId}`;
  return { appId, timeStamp, nonceStr, package: pkg, signType: 'RSA', paySign: jsapiPaySign(appId, timeStamp, nonceStr, pkg, privateKey) };
}
