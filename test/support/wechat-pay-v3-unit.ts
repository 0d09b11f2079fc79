import { createCipheriv, createSign, generateKeyPairSync, KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Clock } from '../../src/common/clock';
import { AppConfig } from '../../src/config/app-config';
import { loadConfig } from '../../src/config/load-config';
import type { V3RawResponse } from '../../src/wechat/pay/notify/platform-certificates';
import { createPlatformCertificate, PlatformCertificate } from './fake-wechat-pay';

/**
 * WeChat Pay's side of the APIv3 unit specs in src/wechat/pay/ (notify/ and client/): keys, a v3
 * configuration, signed headers, encrypted resources and certificate downloads, written
 * independently of src/ so the specs check our code against the protocol rather than against itself.
 */

export const APPID = 'wxd678efh567hg6787';
export const MCHID = '1230000109';
export const V3_KEY = 'a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb';
export const PUB_KEY_ID = 'PUB_KEY_ID_0112340000000000000000000001';
export const CERT_SERIAL = '5157F09EFDC096DE15EBE81A47057A7232F1B8E1';
export const MERCHANT_SERIAL = '3775B6A45ACD588826D15E583A95F5DD14F1D6A5';
export const NOW = 1_714_036_504; // 2024-04-25T17:15:04+08:00

export class TestClock extends Clock {
  ms = NOW * 1000;
  nowMs(): number {
    return this.ms;
  }
}

export interface V3World {
  config: AppConfig;
  /** WeChat Pay's public key pair (`PUB_KEY_ID`). */
  wechatPay: { privateKey: KeyObject; publicKey: KeyObject };
  /** The merchant's API key pair (`MERCHANT_SERIAL`). */
  merchant: { privateKey: KeyObject; publicKey: KeyObject };
  /** The platform certificate `/v3/certificates` serves (`CERT_SERIAL`). */
  cert: PlatformCertificate;
  /** A certificate WeChat Pay never issued to this merchant. */
  strangerCert: PlatformCertificate;
  /** Removes the key files (afterAll). */
  cleanup(): void;
}

/** Fresh keys and certificates, their files, and a v3 configuration naming them (beforeAll). */
export async function createV3World(): Promise<V3World> {
  const dir = mkdtempSync(join(tmpdir(), 'pay-v3-spec-'));
  const wechatPay = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const merchant = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'wechatpay_public.pem'), wechatPay.publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(join(dir, 'merchant_private.pem'), merchant.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const validFrom = new Date((NOW - 86400) * 1000);
  const validTo = new Date((NOW + 5 * 86400) * 1000);
  const cert = await createPlatformCertificate(CERT_SERIAL, validFrom, validTo);
  const strangerCert = await createPlatformCertificate('1A2B3C4D5E6F', validFrom, validTo);
  const config = loadConfig(
    {
      NODE_ENV: 'test',
      SESSION_SECRET: 'x'.repeat(40),
      WECHAT_APPID: APPID,
      WECHAT_PAY_VERSION: 'v3',
      WECHAT_PAY_BASE: 'http://127.0.0.1:9',
      WECHAT_PAY_MCHID: MCHID,
      WECHAT_PAY_API_V3_KEY: V3_KEY,
      WECHAT_PAY_PRIVATE_KEY_PATH: join(dir, 'merchant_private.pem'),
      WECHAT_PAY_CERT_SERIAL: MERCHANT_SERIAL,
      WECHAT_PAY_PUBLIC_KEY_PATH: join(dir, 'wechatpay_public.pem'),
      WECHAT_PAY_PUBLIC_KEY_ID: PUB_KEY_ID,
    },
    { cwd: dir },
  );
  return { config, wechatPay, merchant, cert, strangerCert, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** AEAD_AES_256_GCM as WeChat encrypts a resource: base64(data ‖ tag). */
export function encrypt(plaintext: string, nonce: string, aad: string, key = V3_KEY): string {
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(key), Buffer.from(nonce));
  cipher.setAAD(Buffer.from(aad));
  return Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]).toString('base64');
}

/** The `Wechatpay-*` headers WeChat sends with a notification or answer `body`. */
export function signHeaders(
  body: Buffer,
  key: KeyObject,
  serial: string,
  timestamp = String(NOW),
  nonce = 'fdasflkja484w9fbvowejfnokwemfsdf',
): Record<string, string> {
  const signature = createSign('RSA-SHA256')
    .update(Buffer.concat([Buffer.from(`${timestamp}\n${nonce}\n`), body, Buffer.from('\n')]))
    .sign(key, 'base64');
  return { 'Wechatpay-Timestamp': timestamp, 'Wechatpay-Nonce': nonce, 'Wechatpay-Signature': signature, 'Wechatpay-Serial': serial };
}

/** Header names lower-cased, as Node (and our transport) hands them over. */
export function lowerCaseNames(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

export const TRANSACTION = {
  appid: APPID,
  mchid: MCHID,
  out_trade_no: 'ORD20240425171500XYZ789',
  transaction_id: '4200002216202404258765432109',
  trade_type: 'JSAPI',
  trade_state: 'SUCCESS',
  trade_state_desc: '支付成功',
  bank_type: 'OTHERS',
  success_time: '2024-04-25T17:14:58+08:00',
  payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
  amount: { total: 990, payer_total: 990, currency: 'CNY', payer_currency: 'CNY' },
};

export const REFUND = {
  mchid: MCHID,
  out_trade_no: 'ORD20240425171500XYZ789',
  transaction_id: '4200002216202404258765432109',
  out_refund_no: 'RF20240425180000ABCDEFGH',
  refund_id: '50000000382019052709732678859',
  refund_status: 'SUCCESS',
  success_time: '2024-04-25T18:00:09+08:00',
  user_received_account: '支付用户零钱',
  amount: { total: 990, refund: 500, payer_total: 990, payer_refund: 500 },
};

/** A notification envelope whose resource is `resourcePlain`, encrypted with `key`. */
export function notifyBody(resourcePlain: object, eventType = 'TRANSACTION.SUCCESS', key = V3_KEY): Buffer {
  const nonce = 'fdasfwqewlkja';
  return Buffer.from(
    JSON.stringify({
      id: 'EV-2018022511223320873',
      create_time: '2024-04-25T17:15:00+08:00',
      resource_type: 'encrypt-resource',
      event_type: eventType,
      summary: '支付成功',
      resource: {
        original_type: 'transaction',
        algorithm: 'AEAD_AES_256_GCM',
        ciphertext: encrypt(JSON.stringify(resourcePlain), nonce.slice(0, 12), 'transaction', key),
        associated_data: 'transaction',
        nonce: nonce.slice(0, 12),
      },
    }),
  );
}

/** The `/v3/certificates` answer, signed with `signer`. */
export function certificatesAnswer(
  certs: PlatformCertificate[],
  signer: { key: KeyObject; serial: string },
  timestamp = String(NOW),
): V3RawResponse {
  const body = Buffer.from(
    JSON.stringify({
      data: certs.map((c) => ({
        serial_no: c.serial,
        effective_time: '2024-04-24T17:15:04+08:00',
        expire_time: '2024-04-30T17:15:04+08:00',
        encrypt_certificate: {
          algorithm: 'AEAD_AES_256_GCM',
          nonce: '0123456789ab',
          associated_data: 'certificate',
          ciphertext: encrypt(c.pem, '0123456789ab', 'certificate'),
        },
      })),
    }),
  );
  return { status: 200, headers: lowerCaseNames(signHeaders(body, signer.key, signer.serial, timestamp)), body };
}
