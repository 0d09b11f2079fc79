import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Tenpay from 'tenpay';
import { buildXML as tenpayXml } from 'tenpay/lib/util';
import WXBizMsgCrypt from 'wechat-crypto';
import { Aes, Formatter, Hash, Rsa, Transformer, Wechatpay } from 'wechatpay-axios-plugin';
import WxPay from 'wechatpay-node-v3';
import type { IPayRequest, Output } from 'wechatpay-node-v3/dist/define';
import type { AppConfig } from '../../../src/config/app-config';
import { SANDBOX_KEY_FILES } from '../../../src/config/sandbox-defaults';
import { PLATFORM_CERTIFICATE_FILE } from '../../../src/sandbox/core/sandbox.constants';
import { v2PaidFields, v3TransactionResource } from '../../support/pay-notifications';
import type { BuiltNotification, PaidFacts } from '../../support/pay-notifications';

/**
 * The four published SDKs of the interop suite (devDependencies, pinned), configured against the
 * sandbox only through their documented options — see docs/sandbox-sdk.md, whose snippets these
 * factories are. Everything signed, encrypted or verified here is the SDKs' own code, never src/.
 */

export const REAL_PAY_HOST = 'https://api.mch.weixin.qq.com';

/** The sandbox's key files (created by the app under `<DATA_DIR>/sandbox/`). */
export interface SandboxKeyFiles {
  merchantPrivateKey: string;
  merchantCertificate: string;
  platformPrivateKey: string;
  platformPublicKey: string;
  platformCertificate: string;
}

export function sandboxKeyFiles(config: AppConfig): SandboxKeyFiles {
  const read = (file: string) => readFileSync(join(config.dataDir, 'sandbox', file), 'utf8');
  return {
    merchantPrivateKey: read(SANDBOX_KEY_FILES.merchantPrivateKey),
    merchantCertificate: read(SANDBOX_KEY_FILES.merchantCertificate),
    platformPrivateKey: read(SANDBOX_KEY_FILES.platformPrivateKey),
    platformPublicKey: read(SANDBOX_KEY_FILES.platformPublicKey),
    platformCertificate: read(PLATFORM_CERTIFICATE_FILE),
  };
}

// ---------------------------------------------------------------- official account (wechat-crypto)

export function wechatCrypto(config: AppConfig): WXBizMsgCrypt {
  return new WXBizMsgCrypt(config.wechat.token, config.wechat.encodingAesKey, config.wechat.appId);
}

// ---------------------------------------------------------------------------------- tenpay (v2)

/**
 * tenpay 2.1.18 has no base-URL option: its constructor writes the api.mch.weixin.qq.com endpoints
 * into the instance's public `urls` table, and that table is the only place the host is named. The
 * suite re-points those entries (data, not code: no method of tenpay is replaced).
 */
export function tenpayMerchant(config: AppConfig, payBase: string): Tenpay {
  const pay = new Tenpay({
    appid: config.wechat.appId,
    mchid: config.pay.mchId,
    partnerKey: config.pay.apiKey,
    notify_url: config.pay.notifyUrl,
    spbill_create_ip: '127.0.0.1',
  });
  for (const [name, url] of Object.entries(pay.urls)) pay.urls[name] = url.replace(REAL_PAY_HOST, payBase);
  return pay;
}

// ------------------------------------------------------------------ wechatpay-axios-plugin (v2+v3)

/** The merchant SDK with `baseURL` = the sandbox; v3 answers verified with the platform public key (by its id). */
export function axiosPluginMerchant(config: AppConfig, keys: SandboxKeyFiles, baseURL: string) {
  return new Wechatpay({
    mchid: config.pay.mchId,
    serial: config.pay.certSerial,
    privateKey: keys.merchantPrivateKey,
    certs: { [config.pay.publicKeyId]: keys.platformPublicKey },
    secret: config.pay.apiKey,
    baseURL: `${baseURL.replace(/\/+$/, '')}/`,
  });
}

// ----------------------------------------------------------------------- wechatpay-node-v3 (v3)

/** One answer as it came off the wire, for `pay.verifySign`. */
export interface WireAnswer {
  status: number;
  headers: Record<string, string>;
  text: string;
}

/**
 * wechatpay-node-v3 hard-codes `https://api.mch.weixin.qq.com` and signs the path after it; its
 * documented extension point is `pay.createHttp(IPayRequest)`. This IPayRequest sends each call to
 * the same path on `base` (the sandbox hosts listener, which serves the APIs at `/` like the real
 * host) and keeps the raw answer so the test can check it with the SDK's `verifySign`.
 */
export class SandboxHttp implements IPayRequest {
  readonly answers: WireAnswer[] = [];

  constructor(private readonly base: string) {}

  get last(): WireAnswer {
    return this.answers[this.answers.length - 1];
  }

  post(url: string, params: Record<string, unknown>, headers: Record<string, string>): Promise<Output> {
    return this.send('POST', url, headers, JSON.stringify(params));
  }

  get(url: string, headers: Record<string, string>): Promise<Output> {
    return this.send('GET', url, headers);
  }

  upload(): Promise<Output> {
    throw new Error('not used by the suite');
  }

  private async send(method: string, url: string, headers: Record<string, string>, body?: string): Promise<Output> {
    const target = this.base + url.slice(REAL_PAY_HOST.length);
    const res = await fetch(target, { method, headers: { Accept: 'application/json', ...headers }, body });
    const text = await res.text();
    this.answers.push({ status: res.status, headers: Object.fromEntries(res.headers.entries()), text });
    const data = text ? JSON.parse(text) : undefined;
    return res.ok ? { status: res.status, data } : { status: res.status, error: text, data };
  }
}

export function nodeV3Merchant(config: AppConfig, keys: SandboxKeyFiles, hostsBase: string): { pay: WxPay; http: SandboxHttp } {
  const pay = new WxPay({
    appid: config.wechat.appId,
    mchid: config.pay.mchId,
    publicKey: Buffer.from(keys.merchantCertificate),
    privateKey: Buffer.from(keys.merchantPrivateKey),
    key: config.pay.apiV3Key,
  });
  const http = new SandboxHttp(hostsBase);
  pay.createHttp(http);
  return { pay, http };
}

/** wechatpay-node-v3's own check of an answer's `Wechatpay-*` headers (it fetches /v3/certificates itself). */
export function nodeV3Verify(pay: WxPay, config: AppConfig, answer: WireAnswer): Promise<boolean> {
  return pay.verifySign({
    timestamp: answer.headers['wechatpay-timestamp'],
    nonce: answer.headers['wechatpay-nonce'],
    serial: answer.headers['wechatpay-serial'],
    signature: answer.headers['wechatpay-signature'],
    body: answer.text,
    apiSecret: config.pay.apiV3Key,
  });
}

// --------------------------------------------------------- notifications signed by the SDKs

type V2Layout = 'tenpay' | 'axios-plugin';
type V2SignType = 'MD5' | 'HMAC-SHA256';

/** The fields of a v2 payment notification (unsigned), with the nonce and `is_subscribe` the SDKs' layouts carry. */
export function v2NotificationFields(config: AppConfig, f: PaidFacts): Record<string, string> {
  return { ...v2PaidFields(config, f, Formatter.nonce(32)), is_subscribe: 'Y' };
}

/**
 * A v2 notification signed and written by an SDK: tenpay (its `_getSign` and XML writer, which emits
 * `<?xml version="1.0"?>` and indents) or wechatpay-axios-plugin (`Hash.sign`, `Transformer.toXml`).
 * `after` edits the fields once signed (a tampered copy).
 */
export function sdkV2Notification(
  config: AppConfig,
  fields: Record<string, string>,
  layout: V2Layout,
  signType: V2SignType,
  after: Record<string, string> = {},
): BuiltNotification {
  const unsigned = signType === 'HMAC-SHA256' ? { ...fields, sign_type: 'HMAC-SHA256' } : { ...fields };
  let body: string;
  if (layout === 'tenpay') {
    const signer = new Tenpay({ appid: config.wechat.appId, mchid: config.pay.mchId, partnerKey: config.pay.apiKey });
    body = tenpayXml({ ...unsigned, sign: signer._getSign(unsigned, signType), ...after });
  } else {
    body = Transformer.toXml({ ...unsigned, sign: Hash.sign(signType, unsigned, config.pay.apiKey), ...after });
  }
  return { headers: { 'content-type': 'text/xml' }, body };
}

/** The decrypted resource of a TRANSACTION.SUCCESS notification (with the `attach` the SDKs' layouts carry). */
export function v3Transaction(config: AppConfig, f: PaidFacts): Record<string, unknown> {
  return v3TransactionResource(config, f, { attach: '' });
}

/**
 * A v3 notification as WeChat Pay sends it, made with wechatpay-axios-plugin: the resource
 * encrypted by `Aes.AesGcm.encrypt` under the APIv3 key, the body signed by `Rsa.sign` over
 * `Formatter.response(...)` with the sandbox's platform private key, serial = the public key id.
 */
export function sdkV3Notification(
  config: AppConfig,
  keys: SandboxKeyFiles,
  resource: Record<string, unknown>,
  opts: { signBody?: (body: string) => string; flipCiphertext?: boolean } = {},
): BuiltNotification {
  const nonce = Formatter.nonce(12);
  let ciphertext = Aes.AesGcm.encrypt(JSON.stringify(resource), config.pay.apiV3Key, nonce, 'transaction');
  if (opts.flipCiphertext) {
    const raw = Buffer.from(ciphertext, 'base64');
    raw[5] ^= 0x01;
    ciphertext = raw.toString('base64');
  }
  const body = JSON.stringify({
    id: Formatter.nonce(36),
    create_time: new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 19) + '+08:00',
    resource_type: 'encrypt-resource',
    event_type: 'TRANSACTION.SUCCESS',
    summary: '支付成功',
    resource: { original_type: 'transaction', algorithm: 'AEAD_AES_256_GCM', ciphertext, associated_data: 'transaction', nonce },
  });
  const timestamp = String(Formatter.timestamp());
  const headerNonce = Formatter.nonce(32);
  const signed = opts.signBody ? opts.signBody(body) : body;
  return {
    headers: {
      'content-type': 'application/json',
      'wechatpay-timestamp': timestamp,
      'wechatpay-nonce': headerNonce,
      'wechatpay-signature': Rsa.sign(Formatter.response(timestamp, headerNonce, signed), keys.platformPrivateKey),
      'wechatpay-serial': config.pay.publicKeyId,
      'wechatpay-signature-type': 'WECHATPAY2-SHA256-RSA2048',
    },
    body,
  };
}
