import { KeyObject, X509Certificate } from 'node:crypto';
import { isFreshTimestamp } from '../../signature';
import { v3ResponseMessage, v3VerifyRsa, rsaPublicKey } from './v3-sign';

export type V3VerifyFailure =
  | 'malformed' // a header missing, timestamp not digits, nonce or signature not well-formed
  | 'signtest_probe' // WeChat's "WECHATPAY/SIGNTEST/" probe: it expects us to reject it
  | 'stale_timestamp'
  | 'unknown_serial'
  | 'certificate_expired' // the platform certificate is outside its validity period (either side)
  | 'bad_signature';

export type V3VerifyResult = { ok: true } | { ok: false; reason: V3VerifyFailure };

export interface V3VerifyInput {
  timestamp: string;
  nonce: string;
  /** `Wechatpay-Signature`, base64. */
  signature: string;
  /** `Wechatpay-Serial`: a public key id (`PUB_KEY_ID_…`) or a platform certificate serial. */
  serial: string;
  /** The raw body exactly as received. */
  body: Buffer | string;
  nowSeconds: number;
  maxSkewSeconds?: number;
}

interface VerificationKey {
  key: KeyObject;
  /** Certificates only: validity in unix seconds. The WeChat Pay public key has no expiry. */
  notBefore?: number;
  notAfter?: number;
}

const SIGNTEST_PREFIX = 'WECHATPAY/SIGNTEST/';
const TIMESTAMP = /^[0-9]{1,15}$/;
// WeChat's nonces are 32 alphanumerics; anything with whitespace or control characters could shift
// the framing of the signed `timestamp\nnonce\nbody\n` message.
const NONCE = /^[\x21-\x7e]{1,128}$/;

/**
 * Verifies APIv3 response/notification signatures with whichever key `Wechatpay-Serial` names.
 * Merchants migrating from platform certificates to the WeChat Pay public key receive both kinds of
 * serial for a while, so both are held side by side (as wechatpay-go/java do).
 */
export class V3SignatureVerifier {
  private readonly keys = new Map<string, VerificationKey>();

  /** The WeChat Pay public key, under its id (`PUB_KEY_ID_…`). */
  addPublicKey(id: string, pem: string | KeyObject): void {
    if (!id) throw new TypeError('public key id is empty');
    this.keys.set(id, { key: rsaPublicKey(pem) });
  }

  /**
   * A downloaded platform certificate. `serial` must match the certificate's own serial number, so
   * a mislabelled certificate fails at load time rather than as a mystery bad_signature later.
   */
  addCertificate(serial: string, pem: string): void {
    const certificate = new X509Certificate(pem);
    if (normaliseSerial(serial) !== normaliseSerial(certificate.serialNumber)) {
      throw new TypeError('serial does not match the certificate serial number');
    }
    const notBefore = Date.parse(certificate.validFrom) / 1000;
    const notAfter = Date.parse(certificate.validTo) / 1000;
    if (!Number.isFinite(notBefore) || !Number.isFinite(notAfter)) throw new TypeError('certificate validity dates unreadable');
    this.keys.set(serial.toUpperCase(), { key: rsaPublicKey(certificate.publicKey), notBefore, notAfter });
  }

  has(serial: string): boolean {
    return this.lookup(serial) !== undefined;
  }

  verify(input: V3VerifyInput): V3VerifyResult {
    const { timestamp, nonce, signature, serial, body, nowSeconds } = input;
    const maxSkewSeconds = input.maxSkewSeconds ?? 300;
    if (!timestamp || !nonce || !signature || !serial) return fail('malformed');
    // Before any format check: the probe is a recognisable non-signature, and must be reported as such.
    if (signature.startsWith(SIGNTEST_PREFIX)) return fail('signtest_probe');
    if (!TIMESTAMP.test(timestamp) || !NONCE.test(nonce)) return fail('malformed');
    if (!isFreshTimestamp(timestamp, nowSeconds, maxSkewSeconds)) return fail('stale_timestamp');

    const entry = this.lookup(serial);
    if (!entry) return fail('unknown_serial');
    if (entry.notBefore !== undefined && entry.notAfter !== undefined && (nowSeconds < entry.notBefore || nowSeconds > entry.notAfter)) {
      return fail('certificate_expired');
    }
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return fail('malformed');
    return v3VerifyRsa(v3ResponseMessage(timestamp, nonce, body), signature, entry.key) ? { ok: true } : fail('bad_signature');
  }

  private lookup(serial: string): VerificationKey | undefined {
    // Certificate serials are hex, and clients disagree on case; public key ids are matched as given.
    return this.keys.get(serial) ?? this.keys.get(serial.toUpperCase());
  }
}

function fail(reason: V3VerifyFailure): V3VerifyResult {
  return { ok: false, reason };
}

/** Hex serials compared without case or leading zeros (OpenSSL drops them, WeChat may not). */
function normaliseSerial(serial: string): string {
  return serial.toUpperCase().replace(/^0+(?=.)/, '');
}
